"""A programme with rules, and events recorded as processing would announce them."""

import datetime as dt
from decimal import Decimal

from django.db import connection

from engage.events.recording import EventToRecord, record_events
from engage.events.signals import events_recorded
from engage.loyalty.models import LoyaltyAccount, PointRule, PointsMovement, Programme, TierRule

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def make_programme(workspace, *, tiers=(), rules=None, **fields) -> Programme:
    """1 point per currency unit of Order Completed.revenue unless ``rules``
    says otherwise; ``tiers``: TierRule fields, e.g. {"name": "gold", "rank": 2,
    "threshold": 500}."""
    programme = Programme.objects.create(workspace=workspace, name="Club", **fields)
    for rule in [{"property": "revenue", "points_per_unit": 1}] if rules is None else rules:
        rule = {"event": "Order Completed", **rule}
        if "points_per_unit" in rule:
            rule["points_per_unit"] = Decimal(str(rule["points_per_unit"]))
        PointRule.objects.create(programme=programme, **rule)
    for tier in tiers:
        TierRule.objects.create(programme=programme, **tier)
    return programme


def record(profile, name="Order Completed", *, message_id, at=NOW, **properties):
    """Record one event of ``profile``; announced as after its commit (a test
    inside a transaction announces it here, as the commit never comes)."""
    recorded = record_events(
        [EventToRecord(profile.workspace_id, profile.pk, name, message_id, at, properties)]
    )
    if connection.in_atomic_block:
        events_recorded.send(sender=None, events=recorded)
    return recorded


def account(profile) -> LoyaltyAccount:
    return LoyaltyAccount.objects.get(profile_id=profile.pk)


def movement_sum(profile) -> int:
    return sum(
        PointsMovement.objects.filter(profile_id=profile.pk).values_list("points", flat=True)
    )
