"""Tiers and expiry: events segments and journeys use, and the nightly pass."""

import datetime as dt

import pytest

from engage.events.models import Event
from engage.loyalty import services
from engage.loyalty.models import PointsMovement, TierRule
from engage.segments.membership import evaluate
from tests.customer_factories import ProfileFactory

from .helpers import NOW, account, make_programme, movement_sum, record

pytestmark = pytest.mark.django_db

TIERS = [
    {"name": "silver", "rank": 1, "threshold": 100},
    {"name": "gold", "rank": 2, "threshold": 500},
]


def test_reaching_a_tier_records_the_change_for_segments(workspace):
    ws = workspace.workspace
    make_programme(ws, tiers=TIERS)
    ada, bob = ProfileFactory.create_batch(2, workspace=ws)
    record(ada, message_id="o-1", revenue=150)
    record(ada, message_id="o-2", revenue=400)
    record(bob, message_id="o-3", revenue=120)

    changes = Event.objects.filter(name="Loyalty Tier Changed").order_by("id")
    assert [(e.profile_id, e.properties["from"], e.properties["to"]) for e in changes] == [
        (ada.pk, "", "silver"),
        (ada.pk, "silver", "gold"),
        (bob.pk, "", "silver"),
    ]
    reached_gold = {
        "event": {
            "name": "Loyalty Tier Changed",
            "where": [{"property": "to", "op": "equals", "value": "gold"}],
        }
    }
    assert evaluate(reached_gold, workspace_id=ws.pk, now=dt.datetime.now(dt.UTC)) == {ada.pk}
    assert (account(ada).tier, account(bob).tier) == ("gold", "silver")


def test_a_spend_tier_over_a_window_is_lost_when_the_window_passes(workspace):
    ws = workspace.workspace
    spend = {"measure": TierRule.SPEND, "window_days": 30}
    programme = make_programme(
        ws, rules=[], tiers=[{"name": "vip", "rank": 1, "threshold": 200, **spend}]
    )
    ada = ProfileFactory(workspace=ws)
    at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    record(ada, message_id="o-1", revenue=120, at=at)
    record(ada, message_id="o-2", revenue=90.5, at=at)
    assert account(ada).tier == "vip"

    services.nightly(programme, now=at + dt.timedelta(days=29))
    assert account(ada).tier == "vip"
    services.nightly(programme, now=at + dt.timedelta(days=31))

    assert account(ada).tier == ""
    last = Event.objects.filter(name="Loyalty Tier Changed").latest("id")
    assert last.properties == {"from": "vip", "to": "", "programme": "Club"}


def test_points_are_announced_before_they_expire_then_expired_once(workspace):
    ws = workspace.workspace
    programme = make_programme(ws, points_expire_after_days=30, expiry_notice_days=7)
    ada = ProfileFactory(workspace=ws)
    record(ada, message_id="o-1", revenue=100, at=NOW)
    record(ada, message_id="o-2", revenue=50, at=NOW + dt.timedelta(days=20))
    services.move_points(profile=ada, kind=PointsMovement.REDEEMED, points=30)
    expires = NOW + dt.timedelta(days=30)

    services.nightly(programme, now=NOW + dt.timedelta(days=24))
    services.nightly(programme, now=NOW + dt.timedelta(days=25))  # told once per date
    (notice,) = Event.objects.filter(name="Points Expiring", profile=ada)
    assert notice.properties == {"points": 70, "expires_at": expires.isoformat()}

    services.nightly(programme, now=NOW + dt.timedelta(days=31))
    services.nightly(programme, now=NOW + dt.timedelta(days=32))  # nothing more is due

    (expired,) = PointsMovement.objects.filter(profile=ada, kind=PointsMovement.EXPIRED)
    assert expired.points == -70
    assert account(ada).points == 50 == movement_sum(ada)
