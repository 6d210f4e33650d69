"""Marketing pauses: a stop on marketing to a customer for a reason, until a time.

A detractor's answer (``detractor_pause``) or an open support case
(``support_case``) pauses marketing; transactional and service messages are
never paused (the policy check reads the message's category). Writers work
on a set of customers at once: one locking read, one update and one insert
whatever its size.

Starts and ends carry their time (``at``, the event's time when an event
drove them), so events applied out of order settle the same as in order: a
start older than an end already applied changes nothing, and an end older
than the start it meets leaves the pause on. A customer with no pause that
gets an end keeps an ended row for that reason.

A support case is a ticket (the events' ``properties.ticket_id``): each
open ticket has its own row, so solving one of two open tickets leaves the
customer paused until the other is solved too. Ticket events without an id
are one anonymous case, as if they all named the same ticket.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from engage.bulk import update_rows
from engage.events.models import Event

from .models import MarketingPause, MessagingPolicy

# Started and not ended since (an end older than the latest start does not count).
NOT_ENDED = Q(ended_at__isnull=True) | Q(ended_at__lt=F("started_at"))
TICKET_OPENED = "Ticket Opened"
TICKET_ENDED = ("Ticket Solved", "Ticket Closed")
FIELDS = ["detail", "source_event_id", "started_at", "ended_at", "until", "updated_at"]


@dataclass(frozen=True)
class Pause:
    reason: str
    until: datetime
    detail: str


@dataclass(frozen=True)
class Start:
    at: datetime
    until: datetime
    detail: str = ""
    source_event_id: str = ""


def pause_marketing(
    *,
    workspace_id: int,
    profile_ids: list[int],
    reason: str,
    until: datetime,
    detail: str = "",
    source_event_id: str | None = None,
    at: datetime | None = None,
) -> int:
    """Pause marketing to ``profile_ids`` until ``until``, or extend their
    pause for ``reason`` to it (a shorter new pause never shortens one in
    force); returns the rows written. ``at``: when the pause starts (now)."""
    if reason not in dict(MarketingPause.REASONS):
        raise ValueError(f"reason: must be one of {', '.join(dict(MarketingPause.REASONS))}")
    at = at or timezone.now()
    if until <= at:
        raise ValueError("until: must be after the pause starts")
    start = Start(at, until, detail, (source_event_id or "")[:255])
    return _write(workspace_id, reason, {(profile_id, ""): [start] for profile_id in profile_ids})


def start_pauses(*, workspace_id: int, reason: str, starts: dict[int, list[Start]]) -> int:
    """``pause_marketing`` for customers whose pauses start at their own
    times with their own details, in the same one read and two writes;
    ``starts``: each customer's starts in time order. Returns the rows written."""
    if reason not in dict(MarketingPause.REASONS):
        raise ValueError(f"reason: must be one of {', '.join(dict(MarketingPause.REASONS))}")
    if any(start.until <= start.at for steps in starts.values() for start in steps):
        raise ValueError("until: must be after the pause starts")
    return _write(workspace_id, reason, {(pid, ""): steps for pid, steps in starts.items()})


def end_pause(
    *, workspace_id: int, profile_ids: list[int], reason: str, at: datetime | None = None
) -> int:
    """End the pause for ``reason`` of ``profile_ids`` as of ``at`` (now);
    returns the rows written."""
    at = at or timezone.now()
    return _write(workspace_id, reason, {(profile_id, ""): [at] for profile_id in profile_ids})


def follow_tickets(events) -> int:
    """Start a ``support_case`` pause on ``Ticket Opened`` and end it on
    ``Ticket Solved`` or ``Ticket Closed``, for a batch of recorded events;
    a case never solved stops pausing after the workspace's
    ``support_pause_days``. Returns the rows written."""
    tickets = [e for e in events if e.name == TICKET_OPENED or e.name in TICKET_ENDED]
    if not tickets:
        return 0
    workspaces = {e.workspace_id for e in tickets}
    days = dict.fromkeys(workspaces, MessagingPolicy._meta.get_field("support_pause_days").default)
    days.update(
        MessagingPolicy.objects.filter(workspace_id__in=workspaces).values_list(
            "workspace_id", "support_pause_days"
        )
    )
    # The announced events carry no properties: their ticket ids in one read.
    ticket_ids = dict(
        Event.objects.filter(pk__in=[e.id for e in tickets]).values_list(
            "pk", "properties__ticket_id"
        )
    )
    changes: dict[int, dict[tuple[int, str], list]] = {}
    for event in sorted(tickets, key=lambda e: e.timestamp):
        ticket_id = ticket_ids.get(event.id)
        case = "" if ticket_id in (None, "") else str(ticket_id)[:255]
        if event.name == TICKET_OPENED:
            change = Start(
                event.timestamp,
                event.timestamp + timedelta(days=days[event.workspace_id]),
                f"ticket {case + ' ' if case else ''}opened {event.timestamp:%Y-%m-%d %H:%M}",
                (event.message_id or "")[:255],
            )
        else:
            change = event.timestamp
        by_case = changes.setdefault(event.workspace_id, {})
        by_case.setdefault((event.profile_id, case), []).append(change)
    return sum(
        _write(workspace_id, MarketingPause.SUPPORT_CASE, by_case)
        for workspace_id, by_case in changes.items()
    )


def _write(workspace_id: int, reason: str, changes: dict[tuple[int, str], list]) -> int:
    """Apply the starts (``Start``) and ends (a datetime) of each
    (customer, case) to their rows for ``reason``, locked while they change."""
    if not changes:
        return 0
    with transaction.atomic():
        held: dict[tuple[int, str], list[MarketingPause]] = {}
        rows = MarketingPause.objects.select_for_update().filter(
            workspace_id=workspace_id,
            profile_id__in={profile_id for profile_id, _ in changes},
            reason=reason,
        )
        for row in rows.order_by("pk"):
            held.setdefault((row.profile_id, row.case), []).append(row)
        now = timezone.now()
        changed, new = [], []
        for (profile_id, case), steps in changes.items():
            if (profile_id, case) not in held:
                row = _first(workspace_id, profile_id, reason, case, steps[0])
                for step in steps[1:]:
                    _apply(row, step)
                new.append(row)
                continue
            for row in held[(profile_id, case)]:
                touched = [_apply(row, step) for step in steps]
                if any(touched):
                    row.updated_at = now
                    changed.append(row)
        update_rows(MarketingPause, changed, FIELDS)
        MarketingPause.objects.bulk_create(new)
    return len(changed) + len(new)


def _first(workspace_id: int, profile_id: int, reason: str, case: str, step) -> MarketingPause:
    """A customer's first row for ``reason`` and ``case``: a pause, or an ended one."""
    row = MarketingPause(
        workspace_id=workspace_id,
        profile_id=profile_id,
        origin_profile_id=profile_id,
        reason=reason,
        case=case,
    )
    if isinstance(step, Start):
        row.started_at, row.until = step.at, step.until
        row.detail, row.source_event_id = step.detail, step.source_event_id
    else:
        row.started_at = row.ended_at = row.until = step
    return row


def _apply(row: MarketingPause, step) -> bool:
    """One start or end on ``row`` in memory; False when it changes nothing."""
    if not isinstance(step, Start):
        if row.ended_at is not None and row.ended_at >= step:
            return False
        row.ended_at = step
        return True
    if row.ended_at is not None and row.ended_at >= step.at:
        return False  # ended after this start
    if row.ended_at is None or row.ended_at < row.started_at:
        row.started_at = max(row.started_at, step.at)
        if row.until >= step.until:
            return True
    else:
        row.started_at = step.at
    row.until, row.detail, row.source_event_id = step.until, step.detail, step.source_event_id
    return True


def in_force(profile_ids, now: datetime) -> dict[int, Pause]:
    """Each paused customer's pause that ends last, in one query: a worker's
    chunk reads its customers' at once."""
    rows = (
        MarketingPause.objects.filter(NOT_ENDED, profile_id__in=profile_ids, until__gt=now)
        .order_by("until", "id")
        .values_list("profile_id", "reason", "until", "detail")
    )
    return {profile_id: Pause(reason, until, detail) for profile_id, reason, until, detail in rows}
