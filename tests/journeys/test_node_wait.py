"""``wait`` and ``exit``: what they accept, and a wait's end being its own."""

import datetime as dt

import pytest

from engage.journeys import engine
from engage.journeys.models import Enrollment
from engage.journeys.nodes import exit, wait
from tests.customer_factories import ProfileFactory

from .factories import live_journey
from .walking import T0, enroll, errors, ledger


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"duration": {"days": 2}}, []),
        ({}, ["nodes.step.duration: is required"]),
        ({"duration": {"days": -1}}, ["nodes.step.duration.days: must be a non-negative integer"]),
        ({"duration": {"minutes": 0}}, ["nodes.step.duration: must be longer than zero"]),
        (
            {"duration": {"weeks": 1}},
            ["nodes.step.duration.weeks: unknown unit (use days, hours, minutes, seconds)"],
        ),
        ({"duration": {"days": 1}, "until": "10:00"}, ["nodes.step.until: unknown field"]),
    ],
    ids=["valid", "missing", "negative", "zero", "unknown-unit", "unknown-field"],
)
def test_wait_validation_names_the_field(node, expected):
    assert errors(wait, node) == expected


def test_exit_takes_no_fields():
    assert errors(exit, {}) == []
    assert errors(exit, {"reason": "done"}) == ["nodes.step.reason: unknown field"]


@pytest.mark.django_db
def test_consecutive_waits_add_up_and_each_is_in_the_ledger(workspace):
    definition = {
        "trigger": {"manual": True},
        "start": "first",
        "nodes": {
            "first": {"type": "wait", "duration": {"minutes": 30}, "next": "second"},
            "second": {"type": "wait", "duration": {"days": 1, "seconds": 5}, "next": "done"},
            "done": {"type": "exit"},
        },
    }
    journey = live_journey(workspace.workspace, definition)
    (enrollment,) = enroll(journey, [ProfileFactory(workspace=workspace.workspace)])

    engine.advance(now=T0)
    engine.advance(now=T0 + dt.timedelta(minutes=30))
    enrollment.refresh_from_db()
    assert enrollment.next_run_at == T0 + dt.timedelta(days=1, minutes=30, seconds=5)
    assert enrollment.visit == 1
    engine.advance(now=enrollment.next_run_at)

    enrollment.refresh_from_db()
    assert enrollment.end_reason == Enrollment.COMPLETED
    assert ledger(enrollment) == [
        ("wait", "duration", "first"),
        ("wake", "timeout", "first"),
        ("wait", "duration", "second"),
        ("wake", "timeout", "second"),
        ("exit", "completed", "done"),
    ]
