"""Journeys follow their customers: their events, their merges and splits.

Every announced chunk of ``events_recorded`` (ingested events, the message
timeline's opens, clicks and replies, segment entries and exits) is read
once (``incoming``), then, in this order: goals and segment exits end the
enrollments they concern, waits are woken by the events they wait for, and
triggers let customers in. Ending first means a customer who converted is
not also woken.

Merges and splits move enrollments in the merge's transaction (``merges``).
A template a running journey sends is refused deletion (``templates``).
"""

from django.dispatch import receiver

from engage.events.signals import events_recorded
from engage.messaging.signals import template_in_use
from engage.profiles.signals import profiles_merged, profiles_split

from . import goals, incoming, merges, templates, triggers, wakes


@receiver(events_recorded, dispatch_uid="journeys-events")
def on_events_recorded(sender, *, events, **kwargs):
    chunk = incoming.load(events)
    if chunk is None:
        return
    ended = goals.apply(chunk)
    wakes.apply(chunk, ended=ended)
    triggers.apply(chunk)


@receiver(profiles_merged, dispatch_uid="journeys-merge")
def on_profiles_merged(sender, *, pairs, **kwargs):
    merges.follow_merges(pairs)


@receiver(profiles_split, dispatch_uid="journeys-split")
def on_profiles_split(sender, *, pairs, **kwargs):
    merges.follow_splits(pairs)


@receiver(template_in_use, dispatch_uid="journeys-template-in-use")
def on_template_deleting(sender, *, template, **kwargs) -> str | None:
    return templates.in_use_by(template)
