"""Loyalty follows events and customers: points from each announced chunk of
``events_recorded``; accounts and movements through merges and splits."""

from django.dispatch import receiver

from engage.events.signals import events_recorded
from engage.profiles.signals import profiles_merged, profiles_split

from . import earning, merges


@receiver(events_recorded, dispatch_uid="loyalty-events")
def on_events_recorded(sender, *, events, **kwargs):
    earning.earn(events)


@receiver(profiles_merged, dispatch_uid="loyalty-merge")
def on_profiles_merged(sender, *, pairs, **kwargs):
    merges.follow_merges(pairs)


@receiver(profiles_split, dispatch_uid="loyalty-split")
def on_profiles_split(sender, *, pairs, **kwargs):
    merges.follow_splits(pairs)
