"""``branch``: each customer goes by ``yes`` or ``no``, judged for the whole
batch in one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.journeys import engine
from engage.journeys.nodes import branch
from tests.customer_factories import ProfileFactory

from .factories import live_journey
from .walking import T0, counts, enroll, errors, ledger

PRO = {"trait": {"key": "plan", "op": "equals", "value": "pro"}}
DEFINITION = {
    "trigger": {"manual": True},
    "start": "vip",
    "nodes": {
        "vip": {"type": "branch", "condition": PRO, "next": {"yes": "offer", "no": "done"}},
        "offer": {"type": "exit"},
        "done": {"type": "exit"},
    },
}


@pytest.mark.django_db
def test_validation_names_the_bad_condition(workspace):
    ws = workspace.workspace
    assert errors(branch, {"condition": PRO}, workspace=ws) == []
    assert errors(branch, {}, workspace=ws) == ["nodes.step.condition: is required"]
    assert errors(branch, {"condition": {"segment": {"id": 999}}}, workspace=ws) == [
        "nodes.step.condition.segment.id: no segment 999 in this workspace"
    ]
    bad = {"condition": {"trait": {"key": "plan", "op": "near"}}}
    (error,) = errors(branch, bad, workspace=ws)
    assert error.startswith("nodes.step.condition.trait.op: unknown operator 'near'")


@pytest.mark.django_db
def test_each_customer_takes_the_arm_the_condition_gives(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, DEFINITION)
    pro, free, unknown = (
        ProfileFactory(workspace=ws, traits={"plan": "pro"}),
        ProfileFactory(workspace=ws, traits={"plan": "free"}),
        ProfileFactory(workspace=ws),
    )
    enrollments = enroll(journey, [pro, free, unknown])

    engine.advance(now=T0)

    assert [ledger(e) for e in enrollments] == [
        [("branch", "yes", "vip"), ("exit", "completed", "offer")],
        [("branch", "no", "vip"), ("exit", "completed", "done")],
        [("branch", "no", "vip"), ("exit", "completed", "done")],
    ]
    assert counts(journey) == {
        ("vip", ""): 3,
        ("vip", "yes"): 1,
        ("vip", "no"): 2,
        ("offer", ""): 1,
        ("done", ""): 2,
    }


@pytest.mark.django_db
def test_the_statements_do_not_grow_with_the_batch(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, DEFINITION)

    def statements(size: int) -> int:
        enroll(journey, ProfileFactory.create_batch(size, workspace=ws, traits={"plan": "pro"}))
        with CaptureQueriesContext(connection) as queries:
            assert engine.advance(now=T0) == size
        return len(queries)

    assert statements(2) == statements(25)
