"""Keeping messages, consent, decisions and pauses with the customer across
merges, pausing marketing while a support case is open, and applying email
providers' tracking events as anymail reports them."""

from anymail.signals import tracking
from django.dispatch import receiver

from engage.events.signals import events_recorded
from engage.profiles import repoint
from engage.profiles.signals import profiles_merged, profiles_split

from . import esp, pauses
from .models import Consent, MarketingPause, Message, MessageDecision


@receiver(profiles_merged, dispatch_uid="messaging-merge")
def on_profiles_merged(sender, *, pairs, **kwargs):
    """Re-point the merged profiles' rows to their survivors, in the merges'
    transaction: one UPDATE per table for the whole batch.

    Consent history moves too, so an opt-out given as the merged profile still
    stops marketing to the customer; so do marketing pauses, and the survivor
    keeps each, so the longest pause wins. Tables where no merged profile has a
    row are skipped after one probe for all of them.
    """
    target = repoint.survivors(pairs)
    for model in repoint.holding([Message, Consent, MessageDecision, MarketingPause], target):
        repoint.move_rows(model, target)


@receiver(profiles_split, dispatch_uid="messaging-split")
def on_profiles_split(sender, *, pairs, **kwargs):
    """Give each restored profile back the rows first written for it or for a
    profile merged into it; rows written for the holder stay."""
    rows, new_profile = repoint.handed_back(pairs)
    for model in (Message, Consent, MessageDecision, MarketingPause):
        model.objects.filter(rows).update(profile_id=new_profile)


@receiver(events_recorded, dispatch_uid="messaging-support-cases")
def on_events_recorded(sender, *, events, **kwargs):
    """``Ticket Opened`` pauses marketing, ``Ticket Solved`` (or ``Closed``)
    ends the pause: a few statements per announced chunk."""
    pauses.follow_tickets(events)


@receiver(tracking, dispatch_uid="engage-esp-tracking")
def on_tracking_event(sender, event, esp_name, **kwargs):
    esp.apply_tracking_event(event=event, esp_name=esp_name)
