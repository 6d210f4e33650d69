"""Rollups follow late events, merges and splits (``invalidation``)."""

from django.dispatch import receiver

from engage.events.signals import events_recorded
from engage.profiles.signals import profiles_merged, profiles_split

from . import invalidation


@receiver(events_recorded, dispatch_uid="metrics-events")
def on_events_recorded(sender, *, events, **kwargs):
    invalidation.reopen_for_events(events)


@receiver(profiles_merged, dispatch_uid="metrics-merge")
def on_profiles_merged(sender, *, workspace, pairs, **kwargs):
    invalidation.reopen_for_profiles(workspace.pk, [merged for _, merged, _ in pairs])


@receiver(profiles_split, dispatch_uid="metrics-split")
def on_profiles_split(sender, *, workspace, pairs, **kwargs):
    invalidation.reopen_for_profiles(workspace.pk, [restored for _, restored, _ in pairs])
