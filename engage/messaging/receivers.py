"""Keeping messages, consent and decisions with the customer across merges."""

from django.dispatch import receiver

from engage.profiles.signals import profile_merged

from .models import Consent, Message, MessageDecision


@receiver(profile_merged, dispatch_uid="messaging-merge")
def on_profile_merged(sender, *, survivor, merged, **kwargs):
    """Re-point the merged profile's rows to the survivor, in the merge's transaction.

    Consent history moves too, so an opt-out given as the merged profile still
    stops marketing to the customer. A later split leaves them with the survivor.
    """
    for model in (Message, Consent, MessageDecision):
        model.objects.filter(profile=merged).update(profile=survivor)
