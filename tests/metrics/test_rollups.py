import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from engage.metrics import rollups
from engage.metrics.attribution import attribution
from engage.metrics.models import Rollup, RollupCoverage
from engage.metrics.retention import retention
from engage.metrics.services import roll_up
from engage.metrics.tasks import roll_up_workspace
from tests.customer_factories import EventFactory, ProfileFactory
from tests.metrics.dataset import END, START, at, did, sent


def test_rolled_up_figures_are_the_live_ones(shop):
    live_attribution = attribution(shop.workspace, start=START, end=END, by="journey")
    live_retention = retention(shop.workspace, start=START, end=END, basis="first_purchase")

    roll_up_workspace(shop.workspace.pk)

    assert RollupCoverage.objects.filter(workspace=shop.workspace).count() == 9
    assert attribution(shop.workspace, start=START, end=END, by="journey") == live_attribution
    assert retention(shop.workspace, start=START, end=END, basis="first_purchase") == live_retention


def test_closed_days_are_read_from_the_rollups(shop):
    roll_up(shop.workspace, today=dt.date(2025, 6, 1))
    # Bob's 10 February conversion, as stored: change it and the answer follows.
    row = Rollup.objects.get(workspace=shop.workspace, metric="attribution", day="2025-02-10")
    row.data["totals"]["unattributed"] = 1
    row.save()
    assert attribution(shop.workspace, start=START, end=END).unattributed == 4  # 3 + 1

    # February's cohort retention as stored for March: Dee came back (1).
    key = rollups.retention_key(
        shop.workspace, grain="month", basis="first_seen", activity="any", event=None
    )
    march = Rollup.objects.get(
        workspace=shop.workspace, metric="retention", key=key, day="2025-03-01"
    )
    assert march.data["active"][str(2025 * 12 + 1)] == 1
    march.data["active"][str(2025 * 12 + 1)] = 2
    march.save()
    assert retention(shop.workspace, start=START, end=END).rows[1]["active"] == [2, 2]


def test_today_is_computed_live(shop):
    roll_up_workspace(shop.workspace.pk)
    now = timezone.now()
    today = now.date()
    sent(shop.ann, "email", now - dt.timedelta(hours=1), "today")
    EventFactory(
        profile=shop.ann, name="Order Completed", timestamp=now, properties={"revenue": 10}
    )

    result = attribution(shop.workspace, start=today, end=today)
    assert (result.conversions, result.revenue) == (1, 10)
    assert [row["key"] for row in result.rows] == ["email"]
    # January's cohort (Ann and Bob) has a purchase in this month: Ann's.
    january = retention(shop.workspace, start=START, end=today, activity="purchase").rows[0]
    assert january["active"][-1] == 1


def test_a_second_run_replaces_what_it_recomputes(shop):
    roll_up(shop.workspace, today=dt.date(2025, 6, 1))
    count = Rollup.objects.filter(workspace=shop.workspace).count()
    roll_up(shop.workspace, today=dt.date(2025, 6, 1))
    assert Rollup.objects.filter(workspace=shop.workspace).count() == count


def test_a_full_rebuild_picks_up_a_changed_past(shop):
    roll_up(shop.workspace, today=dt.date(2025, 6, 1))
    # An import adds a January order for Dee after January was rolled up.
    EventFactory(
        profile=shop.dee, name="Order Completed", timestamp=dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
    )
    call_command("roll_up_metrics", workspace=shop.workspace.name, stdout=io.StringIO())
    assert attribution(shop.workspace, start=START, end=END).conversions == 5  # still 5

    call_command("roll_up_metrics", workspace=shop.workspace.name, full=True, stdout=io.StringIO())
    assert attribution(shop.workspace, start=START, end=END).conversions == 6


@pytest.mark.parametrize("activity", ["any", "purchase"])
@pytest.mark.parametrize("basis", ["first_seen", "first_purchase"])
def test_an_incremental_run_keeps_whole_cohort_sizes(shop, basis, activity):
    # Three customers first seen in March: one buys on 20 March, two only view pages.
    buyer, viewer, other = (ProfileFactory(workspace=shop.workspace) for _ in range(3))
    did(buyer, "Order Completed", at(3, 20), revenue=5)
    did(viewer, "Page Viewed", at(3, 21), "web")
    did(other, "Page Viewed", at(3, 22), "web")

    def figures():
        return retention(shop.workspace, start=START, end=END, basis=basis, activity=activity)

    live = figures()
    march = {row["cohort"]: row for row in live.rows}["2025-03-01"]
    # By first activity March holds the three (Dee came in February); by
    # first purchase, only the buyer (Ann first bought in January).
    if basis == "first_seen":
        assert march["size"] == 3
        assert march["active"] == [3 if activity == "any" else 1]
    else:
        assert (march["size"], march["active"]) == (1, [1])
    roll_up(shop.workspace, today=dt.date(2025, 4, 2))
    assert figures() == live
    # The next day's run recomputes March (the last REOPEN_DAYS of the coverage).
    roll_up(shop.workspace, today=dt.date(2025, 4, 3))
    assert figures() == live
