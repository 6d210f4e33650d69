"""Points that expire, and the notice that they soon will.

Spending uses the points that expire first: what expires by a date is the
points earned that expire by then less everything spent (redeemed, expired,
taken off) so far, never less than zero. Writing that amount as an
``expired`` movement makes the next run find nothing more to expire, so the
nightly task can run twice. It is always at most the balance (the balance is
every credit less the same debits), so a balance never goes below zero.
"""

import datetime

from django.db import transaction
from django.db.models import Min, Q, Sum

from engage.events.recording import EventToRecord, record_events

from . import ledger
from .models import LoyaltyAccount, PointsMovement, Programme

POINTS_EXPIRING = "Points Expiring"
# Customers whose points are expired in one transaction.
BATCH = 1000


def expire(programme: Programme, *, now: datetime.datetime) -> int:
    """Write ``expired`` movements for points past their date; returns the customers."""
    if not programme.points_expire_after_days:
        return 0
    due = list(_unspent(programme, until=now))
    total = 0
    for start in range(0, len(due), BATCH):
        ids = sorted(row["profile_id"] for row in due[start : start + BATCH])
        with transaction.atomic():
            # Locked first, so a redemption committing meanwhile is counted below.
            list(
                LoyaltyAccount.objects.select_for_update()
                .filter(programme=programme, profile_id__in=ids)
                .order_by("pk")
                .values_list("pk")
            )
            movements = [
                ledger.NewMovement(
                    workspace_id=programme.workspace_id,
                    programme_id=programme.pk,
                    profile_id=row["profile_id"],
                    kind=PointsMovement.EXPIRED,
                    points=-row["unspent"],
                    occurred_at=now,
                    reason="points past their expiry date",
                )
                for row in _unspent(programme, until=now, profile_ids=ids)
            ]
            total += len(ledger.write(movements))
    return total


def notify_expiring(programme: Programme, *, now: datetime.datetime) -> int:
    """Record ``Points Expiring`` {points, expires_at} for points expiring
    within the notice period; returns how many were recorded.

    The message id holds the first expiry date, so a customer is told once
    about each date, however many nights the notice period spans.
    """
    if not programme.points_expire_after_days:
        return 0
    horizon = now + datetime.timedelta(days=programme.expiry_notice_days)
    events = [
        EventToRecord(
            workspace_id=programme.workspace_id,
            profile_id=row["profile_id"],
            name=POINTS_EXPIRING,
            message_id=f"loyalty-expiring:{programme.pk}:{row['profile_id']}:"
            f"{row['first'].isoformat()}",
            timestamp=now,
            properties={"points": row["unspent"], "expires_at": row["first"].isoformat()},
        )
        for row in _unspent(programme, until=horizon, after=now)
        if row["first"] is not None
    ]
    return len(record_events(events))


def _unspent(programme: Programme, *, until, after=None, profile_ids=None):
    """Per customer: the points expiring by ``until`` not yet spent
    (``unspent`` > 0), and the first of their dates after ``after``."""
    expiring = Q(points__gt=0, expires_at__lte=until)
    rows = PointsMovement.objects.filter(programme=programme)
    if profile_ids is not None:
        rows = rows.filter(profile_id__in=profile_ids)
    else:
        rows = rows.filter(
            profile_id__in=PointsMovement.objects.filter(
                programme=programme, expires_at__lte=until, points__gt=0
            )
            .values("profile_id")
            .distinct()
        )
    totals = {
        "credit": Sum("points", filter=expiring, default=0),
        "debit": Sum("points", filter=Q(points__lt=0), default=0),
    }
    if after is not None:
        totals["first"] = Min("expires_at", filter=expiring & Q(expires_at__gt=after))
    for row in rows.values("profile_id").annotate(**totals).order_by("profile_id"):
        unspent = row["credit"] + row["debit"]
        if unspent > 0:
            yield {"profile_id": row["profile_id"], "unspent": unspent, "first": row.get("first")}
