"""Waiting enrollments woken by the event they wait for.

A step that waits for an event parks its enrollment with ``waiting_for``:
an event name (``wait_for``, whose ``where`` filters the event's
properties), or ``responses.RESPONSE`` for any response on any channel (the
ladder, ``wait_for`` with ``response_to``). A matching event sets
``wake_event_id`` and makes the enrollment due now; the engine then runs
the step, which reads the event as its answer.

The first matching event wins: rows are locked and read again before they
change, and one already woken (or moved on, or ended) is left alone, so two
events of one customer at once never both advance the same enrollment.
"""

from django.db import transaction

from engage.profiles import repoint
from engage.segments.conditions import event as event_condition

from . import engine
from .incoming import Chunk, Seen
from .models import Enrollment
from .responses import RESPONSE


def apply(chunk: Chunk, *, ended: set[int]) -> set[int]:
    """Wake the enrollments of ``chunk`` (but ``ended``) whose wait one of its
    events answers; returns the ids of those woken."""
    wakes: dict[int, tuple[Enrollment, Seen]] = {}
    for enrollment in chunk.enrollments:
        if enrollment.pk in ended or not _listening(enrollment):
            continue
        node = enrollment.version.definition["nodes"].get(enrollment.node_id) or {}
        for seen in chunk.events_of(enrollment.profile_id):
            if _answers(chunk, enrollment, node, seen):
                wakes[enrollment.pk] = (enrollment, seen)
                break
    if not wakes:
        return set()
    with transaction.atomic():
        locked = (
            Enrollment.objects.select_for_update(of=("self",))
            .filter(pk__in=list(wakes), ended_at__isnull=True)
            .defer("state")
            .order_by("pk")
        )
        woken = {}
        for enrollment in locked:
            seen_by, seen = wakes[enrollment.pk]
            # Still parked at the same wait, and no other event came first.
            if _listening(enrollment) and (enrollment.node_id, enrollment.visit) == (
                seen_by.node_id,
                seen_by.visit,
            ):
                woken[enrollment.pk] = seen.id
        if woken:
            Enrollment.objects.filter(pk__in=list(woken)).update(
                wake_event_id=repoint.moved_to(woken, "id"), next_run_at=chunk.now
            )
            engine.kick()
    return set(woken)


def _listening(enrollment: Enrollment) -> bool:
    return (
        enrollment.waiting
        and bool(enrollment.waiting_for)
        and enrollment.wake_event_id is None
        and enrollment.ended_at is None
    )


def _answers(chunk: Chunk, enrollment: Enrollment, node: dict, seen: Seen) -> bool:
    if enrollment.waiting_for == RESPONSE:
        return chunk.is_response(seen)
    body = {"name": enrollment.waiting_for, "where": node.get("where", [])}
    return event_condition.matches(body, seen, now=chunk.now)
