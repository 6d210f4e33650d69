"""RFM: exact quintiles and cells from hand-built purchase histories."""

import pytest
from django.db import connection

from engage.plugins.services import configure_plugin
from plugins.scoring_rfm import CELLS

from .helpers import compute, customer, did, scores


def buy(profile, *, last_days_ago: int, count: int, revenue):
    for k in range(count):
        did(profile, "Order Completed", last_days_ago + k, revenue=revenue)


@pytest.fixture
def five(workspace):
    """Five customers, each first on one of recency, frequency and monetary value."""
    ws = workspace.workspace
    people = {name: customer(ws) for name in "ABCDE"}
    buy(people["A"], last_days_ago=1, count=5, revenue=50)  # total 250
    buy(people["B"], last_days_ago=10, count=1, revenue=500)  # 500
    buy(people["C"], last_days_ago=20, count=3, revenue=10)  # 30
    buy(people["D"], last_days_ago=100, count=4, revenue=20)  # 80
    buy(people["E"], last_days_ago=200, count=2, revenue=5)  # 10
    return people


def test_quintiles_and_cells(workspace, five):
    [run] = compute(workspace.workspace, "rfm")

    assert run.rows == 5
    got = scores(workspace.workspace, "rfm")
    expected = {
        "A": (5, 5, 4, "champions"),
        "B": (4, 1, 5, "promising"),
        "C": (3, 3, 2, "need_attention"),
        "D": (2, 4, 3, "at_risk"),
        "E": (1, 2, 1, "hibernating"),
    }
    for name, (r, f, m, cell) in expected.items():
        score = got[five[name].pk]
        assert (score.components["r"], score.components["f"], score.components["m"]) == (r, f, m)
        assert score.value == r * 100 + f * 10 + m
        assert score.cell == cell
    assert got[five["D"].pk].components["recency_days"] == pytest.approx(100)
    assert got[five["D"].pk].components["frequency"] == 4
    assert got[five["D"].pk].components["monetary"] == pytest.approx(80)


def test_equal_values_share_a_quintile(workspace):
    ws = workspace.workspace
    counts = [1, 1, 1, 1, 2, 2, 3, 4, 5, 6]
    people = [customer(ws) for _ in counts]
    for person, count in zip(people, counts, strict=True):
        buy(person, last_days_ago=5, count=count, revenue=10)

    compute(ws, "rfm")

    got = scores(ws, "rfm")
    assert [got[p.pk].components["f"] for p in people] == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    # Everyone bought last on the same day: one recency quintile for all.
    assert {got[p.pk].components["r"] for p in people} == {1}


def test_purchase_event_and_revenue_property_are_per_workspace(workspace):
    ws = workspace.workspace
    configure_plugin(
        workspace=ws,
        plugin_id="rfm",
        settings={"purchase_event": "Checkout Done", "revenue_property": "total"},
    )
    big, small, browser = customer(ws), customer(ws), customer(ws)
    did(big, "Checkout Done", 3, total=900)
    did(small, "Checkout Done", 3, total=5, revenue=10_000)
    did(small, "Checkout Done", 4, total="a lot")  # not a number: counts as a purchase of 0
    did(browser, "Order Completed", 1, revenue=50)

    compute(ws, "rfm")

    got = scores(ws, "rfm")
    assert set(got) == {big.pk, small.pk}
    assert got[big.pk].components["monetary"] == 900
    assert got[small.pk].components["monetary"] == 5
    assert got[small.pk].components["frequency"] == 2


def test_other_workspaces_and_later_events_do_not_count(workspace, other_workspace):
    ws = workspace.workspace
    alone = customer(ws)
    did(alone, "Order Completed", 30, revenue=10)
    did(alone, "Order Completed", -1, revenue=10)  # after the computation time
    stranger = customer(other_workspace.workspace)
    did(stranger, "Order Completed", 1, revenue=10_000)
    compute(other_workspace.workspace, "rfm")

    compute(ws, "rfm")

    got = scores(ws, "rfm")
    assert set(got) == {alone.pk}
    assert got[alone.pk].components["frequency"] == 1
    assert got[alone.pk].components["recency_days"] == pytest.approx(30)
    # Computing one workspace left the other's scores alone.
    assert set(scores(other_workspace.workspace, "rfm")) == {stranger.pk}


def test_recomputing_drops_customers_who_no_longer_qualify(workspace):
    ws = workspace.workspace
    buyer = customer(ws)
    purchase = did(buyer, "Order Completed", 3, revenue=10)
    compute(ws, "rfm")
    purchase.delete()

    compute(ws, "rfm")

    assert scores(ws, "rfm") == {}


# The R (rows, 5 at the top) by F (columns) grid documented in docs/scoring.md.
GRID = {
    5: ["new", "potential_loyalist", "potential_loyalist", "champions", "champions"],
    4: ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    1: ["lost", "hibernating", "at_risk", "at_risk", "cant_lose"],
}


def test_cell_map_matches_the_documented_grid(db):
    case = " ".join(f"WHEN {cond} THEN '{name}'" for cond, name in CELLS)
    with connection.cursor() as cursor:
        for r, row in GRID.items():
            for f, expected in enumerate(row, start=1):
                cursor.execute(f"SELECT CASE {case} END FROM (SELECT %s AS r, %s AS f) x", [r, f])
                assert cursor.fetchone()[0] == expected, (r, f)
