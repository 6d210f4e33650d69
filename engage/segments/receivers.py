"""Segments follow their customers: a processed batch re-checks the segments
it could change, a merge moves memberships, a split re-checks both customers."""

from django.dispatch import receiver

from engage.events.signals import events_processed
from engage.profiles.signals import profile_merged, profile_split

from . import membership, realtime


@receiver(events_processed, dispatch_uid="segments-recheck")
def on_events_processed(sender, *, workspace, profile_ids, event_names, trait_keys, **kwargs):
    realtime.recheck_after_batch(
        workspace_id=workspace.pk,
        profile_ids=profile_ids,
        event_names=event_names,
        trait_keys=trait_keys,
    )


@receiver(profile_merged, dispatch_uid="segments-merge")
def on_profile_merged(sender, *, survivor, merged, **kwargs):
    membership.repoint_memberships(survivor_id=survivor.pk, merged_id=merged.pk)


@receiver(profile_split, dispatch_uid="segments-split")
def on_profile_split(sender, *, survivor, merged, **kwargs):
    realtime.recheck_after_split(survivor=survivor, merged=merged)
