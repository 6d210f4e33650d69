"""Points from events: revenue, bonuses with filters, and replays that earn nothing twice."""

import datetime as dt

import pytest

from engage.events.signals import events_recorded
from engage.loyalty.models import PointsMovement
from tests.customer_factories import ProfileFactory
from tests.identity_helpers import profile_of, send

from .helpers import NOW, account, make_programme, movement_sum, record

pytestmark = pytest.mark.django_db


def test_an_ingested_order_earns_a_point_per_currency_unit_of_its_revenue(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    make_programme(ws, points_expire_after_days=365)
    with django_capture_on_commit_callbacks(execute=True):
        order = send(ws, user_id="u-1", name="Order Completed", properties={"revenue": 42.9})
    ada = profile_of(ws, "user_id", "u-1")

    (earned,) = PointsMovement.objects.filter(profile=ada)
    assert (earned.kind, earned.points) == (PointsMovement.EARNED, 42)
    assert (earned.event_id, earned.event_time) == (order.pk, order.timestamp)
    assert earned.expires_at == order.timestamp + dt.timedelta(days=365)
    assert account(ada).points == 42


def test_a_bonus_event_earns_only_when_its_filter_matches(workspace):
    ws = workspace.workspace
    make_programme(
        ws,
        rules=[
            {
                "event": "Review Written",
                "bonus": 50,
                "where": [{"property": "stars", "op": "gte", "value": 4}],
            }
        ],
    )
    ada = ProfileFactory(workspace=ws)
    record(ada, "Review Written", message_id="r-1", stars=5)
    record(ada, "Review Written", message_id="r-2", stars=2)
    record(ada, "Review Written", message_id="r-3", stars="5")  # text is not a number

    assert account(ada).points == 50
    assert PointsMovement.objects.filter(profile=ada).count() == 1


def test_revenue_and_bonus_add_up_and_a_missing_amount_earns_only_the_bonus(workspace):
    ws = workspace.workspace
    make_programme(ws, rules=[{"property": "revenue", "points_per_unit": 2, "bonus": 10}])
    ada = ProfileFactory(workspace=ws)
    record(ada, message_id="o-1", revenue=5.5)
    record(ada, message_id="o-2")

    assert sorted(PointsMovement.objects.values_list("points", flat=True)) == [10, 21]
    assert account(ada).points == 31


def test_a_replayed_chunk_earns_nothing_twice(workspace):
    ws = workspace.workspace
    make_programme(ws)
    ada = ProfileFactory(workspace=ws)
    recorded = record(ada, message_id="o-1", revenue=100)
    recorded += record(ada, message_id="o-2", revenue=20)

    events_recorded.send(sender=None, events=recorded)
    events_recorded.send(sender=None, events=recorded[::-1])

    assert account(ada).points == 120 == movement_sum(ada)
    assert PointsMovement.objects.filter(profile=ada).count() == 2


def test_events_of_a_workspace_without_a_programme_earn_nothing(workspace, other_workspace):
    make_programme(other_workspace.workspace)
    ada = ProfileFactory(workspace=workspace.workspace)
    record(ada, message_id="o-1", revenue=100, at=NOW)

    assert not PointsMovement.objects.exists()
