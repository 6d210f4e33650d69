"""Journeys follow their customers' events.

Every announced chunk of ``events_recorded`` (ingested events, the message
timeline's opens, clicks and replies, segment entries and exits) is read
once (``incoming``), then, in this order: goals and segment exits end the
enrollments they concern, waits are woken by the events they wait for, and
triggers let customers in. Ending first means a customer who converted is
not also woken.
"""

from django.dispatch import receiver

from engage.events.signals import events_recorded

from . import goals, incoming, triggers, wakes


@receiver(events_recorded, dispatch_uid="journeys-events")
def on_events_recorded(sender, *, events, **kwargs):
    chunk = incoming.load(events)
    if chunk is None:
        return
    ended = goals.apply(chunk)
    wakes.apply(chunk, ended=ended)
    triggers.apply(chunk)
