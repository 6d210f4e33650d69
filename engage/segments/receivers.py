"""Segments follow their customers: a processed batch re-checks the segments
it could change, a merge moves memberships, a split re-checks both customers.

A re-check runs as a task once the batch (or the split) commits, inline when
there is no broker; nothing is queued when no segment is affected.
"""

from django.dispatch import receiver

from engage.events.signals import events_processed
from engage.profiles.signals import profiles_merged, profiles_split
from engage.server.publishing import publish_after_commit

from . import membership, realtime
from .tasks import recheck_profiles


@receiver(events_processed, dispatch_uid="segments-recheck")
def on_events_processed(sender, *, workspace, profile_ids, event_names, trait_keys, **kwargs):
    affected = realtime.affected_segments(
        workspace_id=workspace.pk, event_names=event_names, trait_keys=trait_keys
    )
    _recheck(workspace.pk, profile_ids, [s.pk for s in affected])


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
