"""Segments follow their customers: recorded events and processed traits
re-check the segments they could change, a merge moves memberships, a split
re-checks both customers.

Event names come from ``events_recorded``, which every writer of the events
table sends (processing, the message timeline, segment membership); trait keys
and profile data from ``events_processed``, which processing sends and the
journeys' trait updates too.

A re-check runs as a task once the batch (or the split) commits, inline when
there is no broker; nothing is queued when no segment is affected. A
processed batch sends both signals, so it is re-checked once, not twice: its
``events_processed`` only sets aside, at its commit, what its traits call
for, and its ``events_recorded``, announced next by processing's commit,
re-checks that together with what its event names call for (a segment that
reads both a trait and an event of the batch is refreshed once). The
survivors of the batch's merges are set aside the same way: they gained the
merged profiles' events, so every segment reading event names re-checks
them.
"""

import threading

from django.db import transaction
from django.dispatch import receiver

from engage.events.models import Event
from engage.events.signals import events_processed, events_recorded
from engage.profiles import repoint
from engage.profiles.signals import profiles_merged, profiles_split
from engage.server.publishing import publish_after_commit

from . import membership, realtime
from .tasks import recheck_profiles

# Per thread, as the commit hooks that fill and empty it run in the
# committing thread: workspace id -> (profile ids, segment ids, survivors) of
# processed batches that committed and whose events_recorded has not been
# sent yet.
_set_aside = threading.local()


@receiver(events_processed, dispatch_uid="segments-recheck")
def on_events_processed(sender, *, workspace, profile_ids, trait_keys, **kwargs):
    affected = realtime.affected_segments(
        workspace_id=workspace.pk, event_names=set(), trait_keys=trait_keys
    )
    segment_ids = [s.pk for s in affected]
    if not segment_ids:
        return
    if sender is Event:
        transaction.on_commit(
            lambda: _set_aside_until_recorded(
                workspace.pk, profile_ids=profile_ids, segment_ids=segment_ids
            )
        )
    else:
        _recheck(workspace.pk, profile_ids, segment_ids)


@receiver(events_recorded, dispatch_uid="segments-recheck-recorded")
def on_events_recorded(sender, *, events, **kwargs):
    waiting = _take_set_aside()
    merged_into = {ws: survivors for ws, (_, _, survivors) in waiting.items() if survivors}
    for workspace_id, profile_ids, segment_ids in realtime.rechecks_for_recorded(
        events, merged_into=merged_into
    ):
        profiles, segments, _ = waiting.pop(workspace_id, (set(), set(), set()))
        _recheck(workspace_id, {*profile_ids, *profiles}, {*segment_ids, *segments})
    for workspace_id, (profile_ids, segment_ids, _) in sorted(waiting.items()):
        _recheck(workspace_id, profile_ids, segment_ids)


@receiver(profiles_merged, dispatch_uid="segments-merge")
def on_profiles_merged(sender, *, workspace, pairs, **kwargs):
    membership.repoint_memberships(pairs=pairs)
    survivors = set(repoint.survivors(pairs).values())
    transaction.on_commit(lambda: _set_aside_until_recorded(workspace.pk, survivors=survivors))


@receiver(profiles_split, dispatch_uid="segments-split")
def on_profiles_split(sender, *, workspace, pairs, **kwargs):
    segment_ids = realtime.segments_after_split(workspace_id=workspace.pk)
    profile_ids = {pk for holder_id, restored_id, _ in pairs for pk in (holder_id, restored_id)}
    _recheck(workspace.pk, profile_ids, segment_ids)


def _set_aside_until_recorded(
    workspace_id: int, *, profile_ids=(), segment_ids=(), survivors=()
) -> None:
    waiting = _set_aside.__dict__.setdefault("by_workspace", {})
    profiles, segments, merged_into = waiting.setdefault(workspace_id, (set(), set(), set()))
    profiles.update(profile_ids)
    segments.update(segment_ids)
    merged_into.update(survivors)


def _take_set_aside() -> dict[int, tuple[set, set, set]]:
    return _set_aside.__dict__.pop("by_workspace", {})


def _recheck(workspace_id: int, profile_ids, segment_ids) -> None:
    if segment_ids:
        publish_after_commit(
            recheck_profiles, workspace_id, sorted(profile_ids), sorted(segment_ids)
        )
