"""Tiers from what customers did: points earned or spend, over a window.

A batch of customers costs one query per distinct (measure, window) among
the programme's tier rules, whatever its size. The accounts are locked while
their tier is decided, so two recalculations of one customer agree on the
``from`` of the ``Loyalty Tier Changed`` event each records.
"""

import datetime

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.expressions import RawSQL

from engage.dialect import Dialect
from engage.events.models import Event
from engage.events.recording import EventToRecord, record_events

from . import ledger
from .models import LoyaltyAccount, PointsMovement, Programme, TierRule

TIER_CHANGED = "Loyalty Tier Changed"


def recalculate(programme: Programme, profile_ids, *, now: datetime.datetime) -> int:
    """Give each of ``profile_ids``' accounts the highest tier it meets;
    returns how many changed, each recorded as ``Loyalty Tier Changed``."""
    rules = sorted(programme.tiers.all(), key=lambda rule: -rule.rank)
    ids = sorted(set(profile_ids))
    if not rules or not ids:
        return 0
    with transaction.atomic():
        accounts = list(
            LoyaltyAccount.objects.select_for_update()
            .filter(programme=programme, profile_id__in=ids)
            .order_by("pk")
        )
        measured = {
            (measure, window): _measure(programme, ids, measure, window, now)
            for measure, window in {(rule.measure, rule.window_days) for rule in rules}
        }
        decided = {}
        for account in accounts:
            decided[account] = next(
                (
                    rule.name
                    for rule in rules
                    if measured[(rule.measure, rule.window_days)].get(account.profile_id, 0)
                    >= rule.threshold
                ),
                "",
            )
        return change_tiers(programme, decided, now=now)


def change_tiers(
    programme: Programme, tiers: dict[LoyaltyAccount, str], *, now: datetime.datetime
) -> int:
    """Set each locked account's tier, recording ``Loyalty Tier Changed``
    {from, to, programme} for those that change; returns how many did."""
    changed, events = [], []
    for account, tier in tiers.items():
        if tier == account.tier:
            continue
        events.append(
            EventToRecord(
                workspace_id=account.workspace_id,
                profile_id=account.profile_id,
                name=TIER_CHANGED,
                message_id=f"loyalty-tier:{account.pk}:{now.isoformat()}",
                timestamp=now,
                properties={"from": account.tier, "to": tier, "programme": programme.name},
            )
        )
        account.tier, account.tier_changed_at = tier, now
        changed.append(account)
    _store_tiers(changed, now)
    record_events(events)
    return len(changed)


def _store_tiers(accounts: list[LoyaltyAccount], now: datetime.datetime) -> None:
    """One UPDATE for the batch (``bulk_update``'s CASE of a thousand accounts
    took longer to build than the earnings that caused it)."""
    if not accounts:
        return
    table = LoyaltyAccount._meta.db_table
    rows, params = ledger.rows_table([(a.pk, a.tier) for a in accounts], ["bigint", "text"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH d(id, tier) AS ({rows}) UPDATE {table}"  # noqa: S608 - constant table; values are params
            f" SET tier = (SELECT d.tier FROM d WHERE d.id = {table}.id), tier_changed_at = %s"
            " WHERE id IN (SELECT id FROM d)",
            [*params, Dialect().ts(now)],
        )


def _measure(
    programme: Programme, ids: list[int], measure: str, window_days, now
) -> dict[int, float]:
    """Points earned (or added by an adjustment), or spend, per customer."""
    since = now - datetime.timedelta(days=window_days) if window_days else None
    if measure == TierRule.POINTS:
        rows = PointsMovement.objects.filter(
            programme=programme,
            profile_id__in=ids,
            kind__in=[PointsMovement.EARNED, PointsMovement.ADJUSTED],
            points__gt=0,
        )
        if since:
            rows = rows.filter(occurred_at__gte=since)
        amounts = rows.values("profile_id").annotate(total=Sum("points"))
    else:
        amount_sql, amount_params = Dialect().number_property(
            f"{Event._meta.db_table}.properties", programme.spend_property
        )
        rows = Event.objects.filter(
            workspace_id=programme.workspace_id,
            profile_id__in=ids,
            name=programme.spend_event,
            timestamp__lte=now,
        )
        if since:
            rows = rows.filter(timestamp__gte=since)
        amounts = (
            rows.annotate(amount=RawSQL(amount_sql, amount_params))  # noqa: S611 - the key is a parameter
            .values("profile_id")
            .annotate(total=Sum("amount"))
        )
    return {row["profile_id"]: row["total"] or 0 for row in amounts}
