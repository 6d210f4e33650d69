"""Feedback follows its customers through merges and splits, and a reply to
an SMS or WhatsApp survey becomes an answer."""

from django.dispatch import receiver

from engage.events.signals import events_recorded
from engage.profiles import repoint
from engage.profiles.signals import profiles_merged, profiles_split

from . import replies, services
from .models import Feedback


@receiver(profiles_merged, dispatch_uid="feedback-merge")
def on_profiles_merged(sender, *, pairs, **kwargs):
    """One UPDATE for the batch, in the merges' transaction, after one probe."""
    target = repoint.survivors(pairs)
    if repoint.holding([Feedback], target):
        repoint.move_rows(Feedback, target)


@receiver(profiles_split, dispatch_uid="feedback-split")
def on_profiles_split(sender, *, pairs, **kwargs):
    rows, new_profile = repoint.handed_back(pairs)
    Feedback.objects.filter(rows).update(profile_id=new_profile)


@receiver(events_recorded, dispatch_uid="feedback-replies")
def on_events_recorded(sender, *, events, **kwargs):
    answers = replies.answers_in(events)
    if answers:
        services.record_answers(answers)
