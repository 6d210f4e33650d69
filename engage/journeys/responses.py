"""What counts as a customer's response, for the journey steps that wait for one.

A step waiting for a response (the escalation ladder) parks its enrollment
with ``waiting_for = RESPONSE``. Any response event of the customer answers
it: an open, click or reply on any channel, named as ``scoring.kinds``
classifies them ("Email Opened", "SMS Replied", "Web Push Clicked"...), so
the ladder and the scores agree on what a response is. The wake receiver
wakes such enrollments when one is recorded; the ladder also looks for one
when its window ends, so a response is never missed for lack of a wake.
"""

from datetime import datetime

from engage.events.models import Event
from engage.scoring.kinds import RESPONSE_SUFFIXES, channel_labels, classify

# A marker, not an event name: a wake receiver reads it as "any response".
RESPONSE = "@response"


def is_response(name: str) -> bool:
    kind = classify(name, channel_labels())
    return kind is not None and kind[2] == 1


def response_names() -> list[str]:
    """Every event name that is a response on an installed channel."""
    return [f"{label} {suffix}" for label in channel_labels() for suffix in RESPONSE_SUFFIXES]


def responded_since(since: dict[int, datetime]) -> set[int]:
    """The profiles of ``since`` ({profile id: time}) with a response event
    at or after their time, in one query."""
    if not since:
        return set()
    rows = Event.objects.filter(
        profile_id__in=list(since),
        name__in=response_names(),
        timestamp__gte=min(since.values()),
    ).values_list("profile_id", "timestamp")
    return {profile_id for profile_id, at in rows if at >= since[profile_id]}
