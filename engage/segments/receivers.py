"""Segments follow their customers: recorded events and processed traits
re-check the segments they could change, a merge moves memberships, a split
re-checks both customers.

Event names come from ``events_recorded``, which every writer of the events
table sends (processing, the message timeline, segment membership); trait keys
and profile data from ``events_processed``, which only processing sends.

A re-check runs as a task once the batch (or the split) commits, inline when
there is no broker; nothing is queued when no segment is affected.
"""

from django.dispatch import receiver

from engage.events.signals import events_processed, events_recorded
from engage.profiles.signals import profiles_merged, profiles_split
from engage.server.publishing import publish_after_commit

from . import membership, realtime
from .tasks import recheck_profiles


@receiver(events_processed, dispatch_uid="segments-recheck")
def on_events_processed(sender, *, workspace, profile_ids, trait_keys, **kwargs):
    affected = realtime.affected_segments(
        workspace_id=workspace.pk, event_names=set(), trait_keys=trait_keys
    )
    _recheck(workspace.pk, profile_ids, [s.pk for s in affected])


@receiver(events_recorded, dispatch_uid="segments-recheck-recorded")
def on_events_recorded(sender, *, events, **kwargs):
    for workspace_id, profile_ids, segment_ids in realtime.rechecks_for_recorded(events):
        _recheck(workspace_id, profile_ids, segment_ids)


@receiver(profiles_merged, dispatch_uid="segments-merge")
def on_profiles_merged(sender, *, pairs, **kwargs):
    membership.repoint_memberships(pairs=pairs)


@receiver(profiles_split, dispatch_uid="segments-split")
def on_profiles_split(sender, *, workspace, pairs, **kwargs):
    segment_ids = realtime.segments_after_split(workspace_id=workspace.pk)
    profile_ids = {pk for holder_id, restored_id, _ in pairs for pk in (holder_id, restored_id)}
    _recheck(workspace.pk, profile_ids, segment_ids)


def _recheck(workspace_id: int, profile_ids, segment_ids: list[int]) -> None:
    if segment_ids:
        publish_after_commit(
            recheck_profiles, workspace_id, sorted(profile_ids), sorted(segment_ids)
        )
