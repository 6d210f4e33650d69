"""Unprocessed events as ingestion stores them, for identity and processing tests."""

import datetime as dt
import itertools

from engage.events.models import Event
from engage.events.processing import process_pending
from engage.profiles.models import Identity, Profile

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
_ids = itertools.count(1)


def pending_event(
    workspace,
    type="track",
    *,
    user_id="",
    anonymous_id="",
    previous_id="",
    traits=None,
    context=None,
    properties=None,
    name="",
    at=None,
    message_id=None,
) -> Event:
    at = at or T0 + dt.timedelta(seconds=next(_ids))
    return Event.objects.create(
        workspace=workspace,
        message_id=message_id or f"m-{next(_ids)}",
        type=type,
        name=name or ("Viewed" if type == "track" else ""),
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        traits=traits or {},
        context=context or {},
        properties=properties or {},
        timestamp=at,
        received_at=at,
    )


def send(workspace, type="track", **fields) -> Event:
    """Store one event, process everything pending, return the event as processed."""
    event = pending_event(workspace, type, **fields)
    process_pending()
    event.refresh_from_db()
    return event


def profile_of(workspace, kind, value) -> Profile:
    return (
        Identity.objects.select_related("profile")
        .get(workspace=workspace, kind=kind, value=value)
        .profile
    )


def identities(profile) -> set[tuple[str, str]]:
    return set(profile.identities.values_list("kind", "value"))
