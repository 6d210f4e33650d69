"""Delivery signals written to the customer's timeline as events.

They are stored as already-processed ``track`` events attributed to the
profile, so they show in the timeline at once and segments and journeys read
them like any other event ("Email Opened", "SMS Replied"). The event's
``message_id`` is derived from what caused it, so a signal seen twice is
stored once. They go through the events app's ``record_events``, which
announces them (``events_recorded``) once written, so a segment "did
`Email Opened`" gains the customer who opened the email at once.
"""

from datetime import datetime

from django.utils import timezone

from engage.events.recording import EventToRecord, record_events
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
    recorded = record_events(
        [
            EventToRecord(
                workspace_id=profile.workspace_id,
                profile_id=profile.pk,
                name=name,
                message_id=key,
                timestamp=at or timezone.now(),
                properties=properties,
                channel=channel,
            )
        ]
    )
    return bool(recorded)
