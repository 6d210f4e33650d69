"""Enrollments ended by what the customer does, wherever they stand in the graph.

- A conversion goal (``goal``: an event, its property filters, and
  optionally ``within_hours`` after entry) ends the enrollment as
  ``converted`` and cancels the messages it queued that have not started
  sending: the customer bought, the reminder must not follow.
- ``exit.leaves_segment`` ends it as ``exited_condition`` when the customer
  leaves the trigger segment (the segments app records ``segment_exited``).

Each enrollment is judged against the version it entered. The rows are
locked and read again before they change, so an engine batch holding one
finishes first and the end is never overwritten by its write; an enrollment
that ended meanwhile is left alone. Each end writes one ``exit`` ledger row
naming the event.
"""

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import F

from engage.messaging.models import Message, MessageDecision
from engage.messaging.services import NotCancellable, cancel_message
from engage.segments.conditions import event as event_condition
from engage.segments.membership import EXITED

from .incoming import Chunk, Seen
from .ledger import JourneyLedger
from .locks import hold_customers
from .models import Enrollment

# Rounds of ``end_enrollments`` that follow enrollments merges moved meanwhile.
MERGE_ROUNDS = 3


def apply(chunk: Chunk) -> set[int]:
    """End the enrollments the chunk's events convert or take out of their
    segment; returns the ids of those ended."""
    ends: dict[int, tuple[str, Seen]] = {}
    for enrollment in chunk.enrollments:
        definition = enrollment.version.definition
        for seen in chunk.events_of(enrollment.profile_id):
            if _converts(definition.get("goal"), enrollment, seen, chunk.now):
                ends[enrollment.pk] = (Enrollment.CONVERTED, seen)
                break
            if _leaves_segment(definition, seen):
                ends[enrollment.pk] = (Enrollment.EXITED_CONDITION, seen)
                break
    if not ends:
        return set()
    return end_enrollments(ends, now=chunk.now)


def end_enrollments(ends: dict[int, tuple[str, Seen]], *, now: datetime.datetime) -> set[int]:
    """End each enrollment of ``ends`` ({id: (reason, event)}) still active,
    under its row lock; converted ones have their queued messages cancelled.

    The customers' rows are share-locked first (``locks``), waiting for a
    merge that holds them; an enrollment the merge moved meanwhile is
    ended in a second round, under its new customer."""
    ended: set[int] = set()
    for _ in range(MERGE_ROUNDS):
        done, moved = _end(ends, now)
        ended |= done
        if not moved:
            break
        ends = {pk: ends[pk] for pk in moved}
    return ended


def _end(ends: dict[int, tuple[str, Seen]], now) -> tuple[set[int], set[int]]:
    """One round: the ids ended, and those a merge moved to another customer."""
    with transaction.atomic():
        owners = set(
            Enrollment.objects.filter(pk__in=list(ends)).values_list("profile_id", flat=True)
        )
        held = hold_customers(owners, skip_locked=False)
        locked = list(
            Enrollment.objects.select_for_update(of=("self",))
            .filter(pk__in=list(ends), ended_at__isnull=True)
            .annotate(version_number=F("version__number"))
            .defer("state")
            .order_by("pk")
        )
        moved = {e.pk for e in locked if e.profile_id not in held}
        locked = [e for e in locked if e.profile_id in held]
        by_reason: dict[str, list[int]] = defaultdict(list)
        ledger = JourneyLedger()
        for enrollment in locked:
            reason, seen = ends[enrollment.pk]
            by_reason[reason].append(enrollment.pk)
            ledger.add(
                enrollment,
                version_number=enrollment.version_number,
                node_id=enrollment.node_id,
                action=MessageDecision.EXIT,
                reason=reason,
                detail=str(seen.id),
            )
        for reason, ids in by_reason.items():
            Enrollment.objects.filter(pk__in=ids).update(
                ended_at=now, end_reason=reason, waiting=False, next_run_at=None, waiting_for=""
            )
        ledger.write()
        _cancel_queued([e for e in locked if ends[e.pk][0] == Enrollment.CONVERTED])
    return {enrollment.pk for enrollment in locked}, moved


def _converts(goal: dict | None, enrollment: Enrollment, seen: Seen, now) -> bool:
    """The event reaches the goal. Its time is not compared with the entry:
    an order placed a moment after the cart update that let the customer in
    may carry an earlier time than the entry, which waited for processing.
    Only an event recorded before the triggering one is too early."""
    if not goal:
        return False
    if enrollment.trigger_event_id is not None and seen.id <= enrollment.trigger_event_id:
        return False
    if "within_hours" in goal:
        deadline = enrollment.entered_at + datetime.timedelta(hours=goal["within_hours"])
        if seen.timestamp > deadline:
            return False
    body = {"name": goal["event"], "where": goal.get("where", [])}
    return event_condition.matches(body, seen, now=now)


def _leaves_segment(definition: dict, seen: Seen) -> bool:
    trigger = definition.get("trigger") or {}
    return (
        bool((definition.get("exit") or {}).get("leaves_segment"))
        and seen.name == EXITED
        and "segment" in trigger
        and seen.properties.get("segment_id") == trigger["segment"]
    )


def _cancel_queued(enrollments: list[Enrollment]) -> None:
    """Cancel what these enrollments queued and no worker has started sending."""
    if not enrollments:
        return
    waiting = Message.objects.filter(
        profile_id__in={e.profile_id for e in enrollments},
        enrollment_id__in=[e.pk for e in enrollments],
        status__in=Message.READY,
    )
    for message in waiting:
        try:
            cancel_message(message=message, reason="the customer converted")
        except NotCancellable:
            continue  # a worker took it meanwhile: it is being sent
