"""A sample customer for the demo workspace, and the path that made her.

Ada clicks an ad on her laptop, browses, comes back on her phone, signs up,
logs in on the phone, writes on WhatsApp and buys. Seven events from four
devices and channels, each knowing only part of who she is; after processing
they form one profile. The events go through the same validation, storage and
processing as ``/v1`` traffic, so the demo shows what engage really does, not
a hand-built result.
"""

from datetime import UTC, datetime, timedelta

from django.db import transaction

from engage.events import processing
from engage.events.ingestion.storage import store_events
from engage.events.ingestion.validation import Batch, validate_message
from engage.events.models import Event
from engage.profiles.models import Identity, Profile
from engage.workspaces.models import Workspace

USER_ID = "cust-1001"
LAPTOP = "ada-laptop-cookie"
PHONE = "ada-phone-install"
# Her events' message ids start so: fixed, so seeding twice stores nothing new.
MESSAGE_ID_PREFIX = "demo-journey-"


def _events(start: datetime) -> list[dict]:
    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    ad = {"campaign": {"source": "facebook", "medium": "paid_social", "name": "winter-sale"}}
    return [
        {
            "type": "page",
            "anonymousId": LAPTOP,
            "name": "Winter sale",
            "properties": {"url": "https://shop.example/sale?utm_source=facebook"},
            "context": {**ad, "channel": "web"},
            "timestamp": at(0),
        },
        {
            "type": "track",
            "anonymousId": LAPTOP,
            "event": "Product Viewed",
            "properties": {"sku": "JKT-42", "name": "Down jacket", "price": 149.0},
            "context": {"channel": "web"},
            "timestamp": at(3),
        },
        {
            "type": "screen",
            "anonymousId": PHONE,
            "name": "Down jacket",
            "context": {"channel": "mobile", "device": {"id": "iphone-ada-01"}},
            "timestamp": at(60 * 5),
        },
        {
            "type": "identify",
            "anonymousId": LAPTOP,
            "userId": USER_ID,
            "traits": {"email": "Ada@Example.com", "first_name": "Ada", "plan": "free"},
            "context": {"channel": "web"},
            "timestamp": at(60 * 24),
        },
        {
            "type": "identify",
            "anonymousId": PHONE,
            "userId": USER_ID,
            "traits": {"phone": "+44 20 7946 0958"},
            "context": {"channel": "mobile", "timezone": "Europe/London"},
            "timestamp": at(60 * 24 + 30),
        },
        {
            "type": "track",
            "userId": USER_ID,
            # Named as the WhatsApp webhook names an inbound text, so the
            # metrics count it as a contact on a second channel.
            "event": "WhatsApp Message Received",
            "properties": {"text": "Do you have the jacket in size M?"},
            "context": {"channel": "whatsapp", "traits": {"phone": "+442079460958"}},
            "timestamp": at(60 * 26),
        },
        {
            "type": "track",
            "userId": USER_ID,
            "event": "Order Completed",
            "properties": {"order_id": "A-77", "revenue": 149.0, "currency": "EUR"},
            "context": {"channel": "web"},
            "timestamp": at(60 * 27),
        },
    ]


def seed(workspace: Workspace, *, now: datetime | None = None) -> Identity | None:
    """Ingest and process Ada's journey in ``workspace``; returns her user_id identity.

    Message ids are fixed, so seeding twice stores nothing new.
    """
    now = now or datetime.now(UTC)
    messages = _events(now - timedelta(days=3))
    for index, message in enumerate(messages):
        message["messageId"] = f"{MESSAGE_ID_PREFIX}{index}"
    ingest(workspace, messages, now=now)
    return (
        Identity.objects.select_related("profile")
        .filter(workspace=workspace, kind=Identity.USER_ID, value=USER_ID)
        .first()
    )


def ingest(workspace: Workspace, messages: list[dict], *, now: datetime) -> None:
    """Validate, store and process ``messages`` as ``/v1`` would (a message
    id already stored is stored nothing new)."""
    batch = Batch(received_at=now)
    rows, errors = [], []
    for index, message in enumerate(messages):
        rows.append(validate_message(message, None, batch, errors, index))
    if errors:
        raise ValueError(f"the demo's events are invalid: {errors}")
    with transaction.atomic():
        store_events(workspace_id=workspace.pk, rows=rows)
    processing.process_pending()


def describe(profile: Profile) -> str:
    """Her seeded path as the demo prints it: the events she sent (not those
    engage recorded about her since), the devices and channels they came
    from, the merges that made one profile of them and still stand (a split
    one does not), her identities, then the events one a line."""
    events = list(
        Event.objects.filter(profile=profile, message_id__startswith=MESSAGE_ID_PREFIX).order_by(
            "timestamp", "id"
        )
    )
    devices = {e.anonymous_id for e in events if e.anonymous_id}
    channels = sorted({e.channel for e in events if e.channel})
    merges = profile.merges_in.filter(split_at__isnull=True).count()
    identities = ", ".join(
        f"{i.kind}={i.value}" for i in profile.identities.order_by("kind", "value")
    )
    lines = [f"  {e.timestamp:%a %H:%M}  {e.channel or '-':9} {e.type:8} {e.name}" for e in events]
    return (
        f"\nSample customer: profile {profile.pk}, one customer from "
        f"{_count(len(events), 'event')} on {_count(len(devices), 'device')} and "
        f"{_count(len(channels), 'channel')} ({', '.join(channels)}); "
        f"{_count(merges, 'merge')} in effect\n  identities: {identities}\n"
        + "\n".join(lines)
        + "\n"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
