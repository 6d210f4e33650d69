"""Events follow their customer through merges and splits."""

from django.dispatch import receiver

from engage.profiles.signals import profiles_merged, profiles_split

from . import services


@receiver(profiles_merged, dispatch_uid="events-merge")
def on_profiles_merged(sender, *, pairs, **kwargs):
    services.move_events(pairs=pairs)


@receiver(profiles_split, dispatch_uid="events-split")
def on_profiles_split(sender, *, pairs, **kwargs):
    services.hand_back_events(pairs=pairs)
