"""Points under real concurrency, on PostgreSQL: threads with their own
connections earn and redeem for one customer at the same moment."""

import pytest
from django.db import connection

from engage.events.recording import EventToRecord, record_events
from engage.events.signals import events_recorded
from engage.loyalty import earning, services
from engage.loyalty.models import PointsMovement
from engage.loyalty.receivers import on_events_recorded
from tests.customer_factories import ProfileFactory
from tests.profiles.test_concurrency import race

from .helpers import NOW, account, make_programme, movement_sum

pytestmark = pytest.mark.usefixtures("transactional_db")

THREADS = 8


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL; SQLite runs one writer at a time")


def quietly_recorded(profile, count: int):
    """Orders of 10, 20, 30… stored but not yet announced."""
    events_recorded.disconnect(dispatch_uid="loyalty-events")
    try:
        return [
            record_events(
                [
                    EventToRecord(
                        profile.workspace_id,
                        profile.pk,
                        "Order Completed",
                        f"o-{n}",
                        NOW,
                        {"revenue": 10 * (n + 1)},
                    )
                ]
            )
            for n in range(count)
        ]
    finally:
        events_recorded.connect(on_events_recorded, dispatch_uid="loyalty-events")


def test_orders_earned_at_once_lose_no_points(workspace):
    make_programme(workspace.workspace, tiers=[{"name": "gold", "rank": 1, "threshold": 300}])
    ada = ProfileFactory(workspace=workspace.workspace)
    chunks = quietly_recorded(ada, THREADS)

    race(*[lambda chunk=chunk: earning.earn(chunk) for chunk in chunks])

    expected = sum(10 * (n + 1) for n in range(THREADS))
    assert account(ada).points == expected == movement_sum(ada)
    assert account(ada).tier == "gold"


def test_two_redemptions_racing_for_the_last_points_cannot_both_succeed(workspace):
    make_programme(workspace.workspace)
    ada = ProfileFactory(workspace=workspace.workspace)
    services.move_points(profile=ada, kind=PointsMovement.ADJUSTED, points=100)

    def redeem():
        try:
            services.move_points(profile=ada, kind=PointsMovement.REDEEMED, points=60)
        except services.LoyaltyError as exc:
            return exc.conflict
        return "redeemed"

    outcomes = race(redeem, redeem)

    assert sorted(outcomes, key=str) == [True, "redeemed"]
    assert account(ada).points == 40 == movement_sum(ada)
