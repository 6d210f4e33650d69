"""Keeping messages, consent and decisions with the customer across merges,
and applying email providers' tracking events as anymail reports them."""

from anymail.signals import tracking
from django.dispatch import receiver

from engage.profiles.models import Profile
from engage.profiles.signals import profile_merged, profile_split

from . import esp
from .models import Consent, Message, MessageDecision


@receiver(profile_merged, dispatch_uid="messaging-merge")
def on_profile_merged(sender, *, survivor, merged, **kwargs):
    """Re-point the merged profile's rows to the survivor, in the merge's transaction.

    Consent history moves too, so an opt-out given as the merged profile still
    stops marketing to the customer.
    """
    for model in (Message, Consent, MessageDecision):
        model.objects.filter(profile=merged).update(profile=survivor)


@receiver(profile_split, dispatch_uid="messaging-split")
def on_profile_split(sender, *, survivor, merged, **kwargs):
    """Give the restored profile back the rows first written for it or for a
    profile merged into it; rows written for the survivor stay."""
    family = {merged.pk, *Profile.objects.filter(merged_into=merged).values_list("pk", flat=True)}
    for model in (Message, Consent, MessageDecision):
        model.objects.filter(profile=survivor, origin_profile_id__in=family).update(profile=merged)


@receiver(tracking, dispatch_uid="engage-esp-tracking")
def on_tracking_event(sender, event, esp_name, **kwargs):
    esp.apply_tracking_event(event=event, esp_name=esp_name)
