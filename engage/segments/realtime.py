"""Real-time re-check: after a batch of events, re-evaluate only the segments
that batch could have changed, and only for the batch's profiles.

Each segment stores its dependency index (``schema.Dependencies``): the event
names and trait keys its rules read, and whether it reads identities or
consents. A batch touching none of them leaves the segment alone. What only
time changes (a window sliding past an event) is left to the periodic refresh.
A profile entering or leaving a segment re-checks, for that profile, the
segments whose rules refer to it, so "member of segment X" is real time too:
within a re-check level by level, and for every other writer (a full refresh,
a static segment's members) through the ``segment_entered`` /
``segment_exited`` events it records.
"""

import logging
from collections import defaultdict

from django.db import DatabaseError

from engage.conflicts import lost_race
from engage.events.signals import RecordedEvent

from . import membership, schema
from .models import Segment, SegmentMembership

MEMBERSHIP_EVENTS = (membership.ENTERED, membership.EXITED)
# Runs of a re-check round aborted by the database for losing a race.
ROUND_ATTEMPTS = 4

logger = logging.getLogger(__name__)


def affected_segments(
    *, workspace_id: int, event_names: set[str], trait_keys: set[str]
) -> list[Segment]:
    """Dynamic segments of the workspace whose answer the batch could change."""
    found = []
    for segment in Segment.objects.filter(workspace_id=workspace_id, kind=Segment.DYNAMIC):
        deps = segment.dependencies or {}
        if (
            deps.get("profile_data")
            or event_names.intersection(deps.get("event_names", ()))
            or trait_keys.intersection(deps.get("trait_keys", ()))
        ):
            found.append(segment)
    return found


def rechecks_for_recorded(
    events: list[RecordedEvent], *, merged_into: dict[int, set[int]] | None = None
) -> list[tuple[int, set[int], list[int]]]:
    """(workspace id, profile ids, segment ids) to re-check after ``events``:
    the segments reading their names and, for membership events, the
    segments referring to the segment whose membership changed.
    ``merged_into`` holds, per workspace, the survivors of the merges of the
    batch that recorded ``events``: they gained the merged profiles' events,
    so they are re-checked for every segment reading event names, whether or
    not the batch carried one of those names.

    One query per workspace for its segments; the memberships behind
    membership events are only looked up when a segment refers to another.
    """
    by_workspace: dict[int, list[RecordedEvent]] = defaultdict(list)
    for event in events:
        by_workspace[event.workspace_id].append(event)
    merged_into = merged_into or {}
    found = []
    for workspace_id in sorted({*by_workspace, *merged_into}):
        recorded = by_workspace.get(workspace_id, [])
        names = {e.name for e in recorded}
        survivors = merged_into.get(workspace_id, set())
        dynamic = _dynamic_segments(workspace_id)
        segment_ids = {
            s.pk
            for s in dynamic
            if (event_names := (s.dependencies or {}).get("event_names", ()))
            and (survivors or names.intersection(event_names))
        }
        membership_ids = [
            int(suffix)
            for e in recorded
            if e.name in MEMBERSHIP_EVENTS
            # A client may track an event of that name with a message id of its own.
            and (suffix := e.message_id.removeprefix(f"{e.name}:")).isdigit()
        ]
        if membership_ids and any(_referred(s) for s in dynamic):
            changed = set(
                SegmentMembership.objects.filter(pk__in=membership_ids).values_list(
                    "segment_id", flat=True
                )
            )
            segment_ids.update(s.pk for s in _referring(dynamic, changed))
        if segment_ids:
            profile_ids = {e.profile_id for e in recorded} | survivors
            found.append((workspace_id, profile_ids, sorted(segment_ids)))
    return found


def recheck(*, workspace_id: int, profile_ids: list[int], segment_ids: list[int]) -> int:
    """Re-check ``segment_ids`` for ``profile_ids``, then the segments that
    refer to one whose membership changed; returns how many memberships changed.

    Each round re-checks all of its segments at once
    (``membership.refresh_profiles``: the same statements for 2 segments as
    for 20, its membership events announced once), as of the memberships
    stored before it. So a segment waits for a later round while it refers,
    directly or through others, to a segment still to be re-checked: it is
    evaluated once what it refers to is final, and a customer never enters
    and leaves it in the same re-check. Validation refuses reference cycles,
    so the rounds end. The workspace's segments are read once for all of them.
    """
    changed = 0
    dynamic = _dynamic_segments(workspace_id)
    below = _referred_below(dynamic)
    # Those deleted or made static since the re-check was asked for are left alone.
    pending = set(segment_ids) & {s.pk for s in dynamic}
    while pending:
        waiting = [s for s in dynamic if s.pk in pending]
        # A cycle (validation refuses them) would leave none ready: take them all.
        ready = [s for s in waiting if not below[s.pk] & pending] or waiting
        changes = _refresh_retrying(ready, profile_ids)
        changed += sum(change.entered + change.exited for change in changes.values())
        pending -= {s.pk for s in ready}
        pending |= {s.pk for s in _referring(dynamic, set(changes))}
    return changed


def _refresh_retrying(segments: list[Segment], profile_ids: list[int]) -> dict:
    """One round, run again when the database aborts it for losing a race.

    A full refresh holds its segment's row while it inserts the segment's
    stays; a round inserts first and takes the rows of its changed segments
    last, so the two can deadlock on a customer both enter, and the round may
    be the one PostgreSQL aborts. Nothing of it was kept and it is
    idempotent; without running it again, a segment on traits alone (never
    refreshed on a schedule) would keep the wrong answer for those customers.
    """
    attempt = 1
    while True:
        try:
            return membership.refresh_profiles(segments, profile_ids)
        except DatabaseError as exc:
            if attempt == ROUND_ATTEMPTS or not lost_race(exc):
                raise
            logger.info("segment re-check lost a race (attempt %d): %s", attempt, exc)
            attempt += 1


def _referred_below(segments: list[Segment]) -> dict[int, set[int]]:
    """Each segment's id mapped to the ids of every segment it refers to,
    directly or through others."""
    direct = {s.pk: schema.referenced_segment_ids(s.rules) for s in segments}
    below: dict[int, set[int]] = {}

    def reach(pk: int) -> set[int]:
        if pk not in below:
            below[pk] = set()  # a cycle (refused by validation) ends here
            for ref in direct.get(pk, ()):
                below[pk] |= {ref, *reach(ref)}
        return below[pk]

    for pk in direct:
        reach(pk)
    return below


def _dynamic_segments(workspace_id: int) -> list[Segment]:
    return list(
        Segment.objects.filter(workspace_id=workspace_id, kind=Segment.DYNAMIC).order_by("pk")
    )


def _referred(segment: Segment) -> bool:
    return bool(schema.referenced_segment_ids(segment.rules))


def _referring(segments: list[Segment], segment_ids: set[int]) -> list[Segment]:
    """Those of ``segments`` whose rules refer to any of ``segment_ids``."""
    return [s for s in segments if segment_ids & schema.referenced_segment_ids(s.rules)]


def segments_after_split(*, workspace_id: int) -> list[int]:
    """After a split both customers may answer differently: every dynamic segment."""
    return list(
        Segment.objects.filter(workspace_id=workspace_id, kind=Segment.DYNAMIC).values_list(
            "pk", flat=True
        )
    )
