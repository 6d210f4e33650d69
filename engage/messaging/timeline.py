"""Delivery signals written to the customer's timeline as events.

They are stored as already-processed ``track`` events attributed to the
profile, so they show in the timeline at once and segments and journeys read
them like any other event ("Email Opened", "SMS Replied"). The event's
``message_id`` is derived from what caused it, so a signal seen twice is
stored once.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from engage.events.models import Event
from engage.profiles.models import Profile

EVENT_SUFFIX = {
    "sent": "Sent",
    "delivered": "Delivered",
    "opened": "Opened",
    "clicked": "Clicked",
    "replied": "Replied",
    "bounced": "Bounced",
    "complained": "Complained",
    "unsubscribed": "Unsubscribed",
    "failed": "Failed",
    "inbound": "Message Received",
    "opted_out": "Opted Out",
    "opted_in": "Opted In",
}


def event_name(label: str, kind: str) -> str:
    return f"{label} {EVENT_SUFFIX[kind]}"


def record_event(
    *,
    profile: Profile,
    name: str,
    key: str,
    properties: dict,
    at: datetime | None = None,
    channel: str = "",
) -> bool:
    """Store the event unless ``key`` was stored already; True when stored."""
    now = timezone.now()
    try:
        with transaction.atomic():
            Event.objects.create(
                workspace_id=profile.workspace_id,
                message_id=key[:100],
                type="track",
                name=name,
                timestamp=at or now,
                received_at=now,
                properties=properties,
                channel=channel[:32],
                profile=profile,
                origin_profile_id=profile.pk,
                processed_at=now,
            )
    except IntegrityError:
        return False
    return True
