"""Events follow their customer through merges and splits."""

from django.dispatch import receiver

from engage.profiles.signals import profile_merged, profile_split

from . import services


@receiver(profile_merged, dispatch_uid="events-merge")
def on_profile_merged(sender, *, survivor, merged, **kwargs):
    services.move_events(merged=merged, survivor=survivor)


@receiver(profile_split, dispatch_uid="events-split")
def on_profile_split(sender, *, survivor, merged, **kwargs):
    services.hand_back_events(holder=survivor, restored=merged)
