"""Dormancy: days inactive against the customer's own median gap between active days."""

import pytest

from engage.plugins.services import configure_plugin

from .helpers import compute, customer, did, scores


def active_on(profile, *days_ago: int):
    for days in days_ago:
        did(profile, "Page Viewed", days)


def test_cells_and_median_gaps(workspace):
    ws = workspace.workspace
    people = {name: customer(ws) for name in ("gone", "lapsing", "drifting", "steady", "once")}
    active_on(people["gone"], 200, 190, 180)
    active_on(people["lapsing"], 70, 65)
    active_on(people["drifting"], 40, 38, 36, 34)  # every 2 days, silent for 34
    active_on(people["steady"], 30, 20, 10, 3)  # gaps 10, 10, 7
    active_on(people["once"], 5)
    # Several events on one day are one active day.
    active_on(people["steady"], 3, 3)

    compute(ws, "dormancy")

    got = scores(ws, "dormancy")
    summary = {
        name: (got[p.pk].cell, got[p.pk].value, got[p.pk].components["median_gap_days"])
        for name, p in people.items()
    }
    assert summary == {
        "gone": ("dormant", 180, 10),
        "lapsing": ("at_risk", 65, 5),
        "drifting": ("drifting", 34, 2),
        "steady": ("active", 3, 10),
        "once": ("active", 5, None),
    }
    assert got[people["steady"].pk].components["active_days"] == 4


def test_median_of_an_even_number_of_gaps(workspace):
    ws = workspace.workspace
    person = customer(ws)
    active_on(person, 20, 19, 16, 10, 2)  # gaps 1, 3, 6, 8

    compute(ws, "dormancy")

    assert scores(ws, "dormancy")[person.pk].components["median_gap_days"] == pytest.approx(4.5)


def test_engage_own_events_are_not_activity(workspace):
    ws = workspace.workspace
    person = customer(ws)
    active_on(person, 90)
    did(person, "Email Delivered", 1)
    did(person, "segment_entered", 1)

    compute(ws, "dormancy")

    score = scores(ws, "dormancy")[person.pk]
    assert (score.cell, score.value) == ("at_risk", 90)


def test_thresholds_are_per_workspace(workspace):
    ws = workspace.workspace
    configure_plugin(
        workspace=ws,
        plugin_id="dormancy",
        settings={
            "dormancy_at_risk_days": 10,
            "dormancy_dormant_days": 20,
            "dormancy_overdue_factor": 5,
        },
    )
    quiet, quieter, regular = customer(ws), customer(ws), customer(ws)
    active_on(quiet, 12)
    active_on(quieter, 25)
    active_on(regular, 9, 7, 5)  # gaps 2: silent for 5 < 5 * 2

    compute(ws, "dormancy")

    got = scores(ws, "dormancy")
    assert got[quiet.pk].cell == "at_risk"
    assert got[quieter.pk].cell == "dormant"
    assert got[regular.pk].cell == "active"
