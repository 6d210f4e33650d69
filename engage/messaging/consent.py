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
        .values_list("channel", "topic", "status")
    )
    return latest(rows, channel=channel, topics=topics)


def histories(profile_ids) -> dict[int, list[tuple[str, str, str]]]:
    """Every consent change of each profile, newest first, as (channel, topic,
    status), in one query: a worker's chunk reads its customers' at once."""
    rows = (
        Consent.objects.filter(profile_id__in=profile_ids)
        .order_by("-created_at", "-id")
        .values_list("profile_id", "channel", "topic", "status")
    )
    found: dict[int, list[tuple[str, str, str]]] = {}
    for profile_id, *change in rows:
        found.setdefault(profile_id, []).append(tuple(change))
    return found


def latest(rows, *, channel: str, topics: list[str]) -> dict[str, str]:
    """{topic: latest status} for ``topics`` on ``channel`` or every channel,
    from (channel, topic, status) rows newest first."""
    found: dict[str, str] = {}
    for row_channel, topic, status in rows:
        if topic in topics and row_channel in (channel, ""):
            found.setdefault(topic, status)
    return found


def history(*, profile: Profile):
    return Consent.objects.filter(profile=profile).order_by("-created_at", "-id")
