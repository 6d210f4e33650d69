"""Marketing pauses: a stop on marketing to a customer for a reason, until a time.

A detractor's answer (``detractor_pause``) or an open support case
(``support_case``) pauses marketing; transactional and service messages are
never paused (the policy check reads the message's category). Writers work
on a set of customers at once, a few statements whatever its size.

Starts and ends carry their time (``at``, the event's time when an event
drove them), so events applied out of order settle the same as in order: a
start older than an end already applied changes nothing, and an end older
than the start it meets leaves the pause on.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Case, CharField, DateTimeField, F, Q, TextField, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from .models import MarketingPause

# Started and not ended since (an end older than the latest start does not count).
NOT_ENDED = Q(ended_at__isnull=True) | Q(ended_at__lt=F("started_at"))


@dataclass(frozen=True)
class Pause:
    reason: str
    until: datetime
    detail: str


def _time(value: datetime) -> Value:
    return Value(value, output_field=DateTimeField())


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
    ids = list(dict.fromkeys(profile_ids))
    if not ids:
        return 0
    source_event_id = (source_event_id or "")[:255]
    rows = MarketingPause.objects.filter(
        workspace_id=workspace_id, profile_id__in=ids, reason=reason
    )
    kept = NOT_ENDED & Q(until__gte=until)
    with transaction.atomic():
        held = set(rows.values_list("profile_id", flat=True))
        # Rows ended after ``at`` are left alone: that end came later.
        written = rows.filter(Q(ended_at__isnull=True) | Q(ended_at__lt=at)).update(
            until=Case(When(NOT_ENDED, then=Greatest("until", _time(until))), default=_time(until)),
            started_at=Case(
                When(NOT_ENDED, then=Greatest("started_at", _time(at))), default=_time(at)
            ),
            detail=Case(
                When(kept, then=F("detail")), default=Value(detail), output_field=TextField()
            ),
            source_event_id=Case(
                When(kept, then=F("source_event_id")),
                default=Value(source_event_id),
                output_field=CharField(),
            ),
        )
        new = [
            MarketingPause(
                workspace_id=workspace_id,
                profile_id=profile_id,
                origin_profile_id=profile_id,
                reason=reason,
                detail=detail,
                source_event_id=source_event_id,
                started_at=at,
                until=until,
            )
            for profile_id in ids
            if profile_id not in held
        ]
        MarketingPause.objects.bulk_create(new)
    return written + len(new)


def end_pause(
    *, workspace_id: int, profile_ids: list[int], reason: str, at: datetime | None = None
) -> int:
    """End the pause for ``reason`` of ``profile_ids`` as of ``at`` (now);
    returns the rows written. A customer without a pause gets an ended one,
    so a start older than this end, applied later, stays ended."""
    at = at or timezone.now()
    ids = list(dict.fromkeys(profile_ids))
    if not ids:
        return 0
    rows = MarketingPause.objects.filter(
        workspace_id=workspace_id, profile_id__in=ids, reason=reason
    )
    with transaction.atomic():
        held = set(rows.values_list("profile_id", flat=True))
        written = rows.update(
            ended_at=Case(When(ended_at__gt=at, then=F("ended_at")), default=_time(at))
        )
        new = [
            MarketingPause(
                workspace_id=workspace_id,
                profile_id=profile_id,
                origin_profile_id=profile_id,
                reason=reason,
                started_at=at,
                ended_at=at,
                until=at,
            )
            for profile_id in ids
            if profile_id not in held
        ]
        MarketingPause.objects.bulk_create(new)
    return written + len(new)


def in_force(profile_ids, now: datetime) -> dict[int, Pause]:
    """Each paused customer's pause that ends last, in one query: a worker's
    chunk reads its customers' at once."""
    rows = (
        MarketingPause.objects.filter(NOT_ENDED, profile_id__in=profile_ids, until__gt=now)
        .order_by("until", "id")
        .values_list("profile_id", "reason", "until", "detail")
    )
    return {profile_id: Pause(reason, until, detail) for profile_id, reason, until, detail in rows}
