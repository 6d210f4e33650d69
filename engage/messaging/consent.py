"""Consent per channel and topic, with history.

Rows are appended, never updated: the latest row for (profile, channel, topic)
is the current state. An empty channel means every channel. An opt-out that
came from the customer or the network (STOP, unsubscribe link, bounce,
complaint) is a suppression: only an explicit opt-in from the customer lifts it.
"""

from datetime import datetime

from django.utils import timezone

from engage.profiles.models import Profile

from .models import Consent, Message

# Webhook signal kinds that become an opt-out, and the source recorded.
OPT_OUT_SOURCES = {
    "unsubscribed": "unsubscribe",
    "opted_out": "stop",
    "bounced": "bounce",
    "complained": "complaint",
}


def record_consent(
    *,
    profile: Profile,
    status: str,
    source: str,
    channel: str = "",
    topic: str = Consent.MARKETING,
    message: Message | None = None,
    at: datetime | None = None,
) -> Consent:
    if status not in (Consent.OPTED_IN, Consent.OPTED_OUT):
        raise ValueError(f"status: must be opted_in or opted_out, not {status!r}")
    return Consent.objects.create(
        workspace_id=profile.workspace_id,
        profile=profile,
        channel=channel,
        topic=topic,
        status=status,
        source=source[:32],
        message=message,
        created_at=at or timezone.now(),
    )


def current_status(*, profile: Profile, channel: str, topic: str) -> str | None:
    """The latest consent change for ``topic`` on ``channel`` or on every channel."""
    return current_statuses(profile=profile, channel=channel, topics=[topic]).get(topic)


def current_statuses(*, profile: Profile, channel: str, topics: list[str]) -> dict[str, str]:
    """{topic: latest status} for ``topics`` on ``channel`` or every channel, in one query."""
    rows = (
        Consent.objects.filter(profile=profile, topic__in=topics, channel__in=(channel, ""))
        .order_by("-created_at", "-id")
        .values_list("topic", "status")
    )
    latest: dict[str, str] = {}
    for topic, status in rows:
        latest.setdefault(topic, status)
    return latest


def history(*, profile: Profile):
    return Consent.objects.filter(profile=profile).order_by("-created_at", "-id")
