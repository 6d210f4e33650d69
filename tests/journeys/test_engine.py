"""The engine walks customers through a live journey, step by step, with the
ledger and the per-node counts an operator reads."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.journeys import engine, steps
from engage.journeys.models import Enrollment, Journey
from engage.journeys.nodes import NODE_TYPES
from engage.messaging.models import MessageDecision
from engage.profiles.models import Profile
from tests.customer_factories import ProfileFactory

from .factories import WAIT_THEN_EXIT, live_journey
from .walking import T0, counts, enroll

pytestmark = pytest.mark.django_db


def ledger(enrollment: Enrollment) -> list[tuple]:
    return list(
        MessageDecision.objects.filter(enrollment_id=enrollment.pk)
        .order_by("id")
        .values_list("action", "reason", "journey_node_id", "until")
    )


def test_customers_wait_then_complete_with_ledger_and_counts(workspace):
    journey = live_journey(workspace.workspace, WAIT_THEN_EXIT)
    profiles = ProfileFactory.create_batch(3, workspace=workspace.workspace)
    enrollments = enroll(journey, profiles)
    until = T0 + dt.timedelta(hours=1)

    assert engine.advance(now=T0) == 3
    first = Enrollment.objects.get(pk=enrollments[0].pk)
    assert (first.node_id, first.waiting, first.next_run_at) == ("pause", True, until)
    assert engine.advance(now=T0 + dt.timedelta(minutes=59)) == 0

    assert engine.advance(now=until) == 3

    for enrollment in Enrollment.objects.filter(journey=journey):
        assert (enrollment.end_reason, enrollment.ended_at) == (Enrollment.COMPLETED, until)
        assert enrollment.next_run_at is None
        assert ledger(enrollment) == [
            ("wait", "duration", "pause", until),
            ("wake", "timeout", "pause", None),
            ("exit", "completed", "done", None),
        ]
    row = MessageDecision.objects.filter(enrollment_id=enrollments[0].pk).first()
    assert (row.source, row.journey_id, row.journey_version, row.profile_id) == (
        "journey",
        journey.pk,
        1,
        profiles[0].pk,
    )
    assert counts(journey) == {("pause", ""): 3, ("pause", "next"): 3, ("done", ""): 3}
    assert engine.advance(now=until + dt.timedelta(days=1)) == 0


def test_a_paused_journey_runs_nothing_until_resumed(workspace):
    journey = live_journey(workspace.workspace, WAIT_THEN_EXIT)
    (enrollment,) = enroll(journey, ProfileFactory.create_batch(1, workspace=workspace.workspace))
    engine.advance(now=T0)
    later = T0 + dt.timedelta(hours=2)

    Journey.objects.filter(pk=journey.pk).update(status=Journey.PAUSED)
    assert engine.advance(now=later) == 0
    assert Enrollment.objects.get(pk=enrollment.pk).ended_at is None

    Journey.objects.filter(pk=journey.pk).update(status=Journey.LIVE)
    assert engine.advance(now=later) == 1
    assert Enrollment.objects.get(pk=enrollment.pk).end_reason == Enrollment.COMPLETED
    assert [row[:2] for row in ledger(enrollment)][-2:] == [
        ("wake", "timeout"),
        ("exit", "completed"),
    ]


def test_a_batch_limit_leaves_the_rest_for_the_next_claim(workspace):
    journey = live_journey(workspace.workspace, WAIT_THEN_EXIT)
    enroll(journey, ProfileFactory.create_batch(5, workspace=workspace.workspace))

    assert [engine.advance(now=T0, limit=2) for _ in range(4)] == [2, 2, 1, 0]
    assert Enrollment.objects.filter(waiting=True).count() == 5


def test_the_task_advances_everything_due(workspace):
    from engage.journeys.tasks import advance_journeys

    journey = live_journey(workspace.workspace, {**WAIT_THEN_EXIT, "start": "done"})
    enroll(journey, ProfileFactory.create_batch(3, workspace=workspace.workspace))

    assert advance_journeys() == 3
    assert set(Enrollment.objects.values_list("end_reason", flat=True)) == {"completed"}


CHURNED = {"trait": {"key": "plan", "op": "equals", "value": "churned"}}


def test_the_exit_condition_ends_matching_customers_at_their_next_step(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, {**WAIT_THEN_EXIT, "exit": {"when": CHURNED}})
    stays, leaves = ProfileFactory.create_batch(2, workspace=ws)
    enrollments = enroll(journey, [stays, leaves])
    engine.advance(now=T0)
    Profile.objects.filter(pk=leaves.pk).update(traits={"plan": "churned"})
    until = T0 + dt.timedelta(hours=1)

    engine.advance(now=until)

    left = Enrollment.objects.get(pk=enrollments[1].pk)
    assert (left.end_reason, left.ended_at, left.node_id) == ("exited_condition", until, "pause")
    assert [row[:3] for row in ledger(left)] == [
        ("wait", "duration", "pause"),
        ("exit", "exited_condition", "pause"),
    ]
    assert Enrollment.objects.get(pk=enrollments[0].pk).end_reason == Enrollment.COMPLETED
    assert counts(journey)[("done", "")] == 1


def test_the_exit_condition_is_one_query_whatever_the_batch(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, {**WAIT_THEN_EXIT, "exit": {"when": CHURNED}})

    def statements(size: int) -> int:
        enroll(journey, ProfileFactory.create_batch(size, workspace=ws, traits={"plan": "churned"}))
        with CaptureQueriesContext(connection) as queries:
            assert engine.advance(now=T0) == size
        return len(queries)

    assert statements(2) == statements(30)
    assert set(Enrollment.objects.values_list("end_reason", flat=True)) == {"exited_condition"}


def test_a_customer_at_a_node_the_version_lacks_is_ended_not_retried(workspace):
    journey = live_journey(workspace.workspace, WAIT_THEN_EXIT)
    (enrollment,) = enroll(
        journey, [ProfileFactory(workspace=workspace.workspace)], node_id="removed"
    )

    assert engine.advance(now=T0) == 1

    enrollment.refresh_from_db()
    assert (enrollment.end_reason, enrollment.next_run_at) == ("completed", None)
    assert ledger(enrollment)[0][:3] == ("exit", "completed", "removed")
    assert engine.advance(now=T0) == 0


def test_a_loop_without_a_wait_goes_round_a_bounded_number_of_times_per_batch(workspace):
    # Validation refuses such a loop; written around it, the batch still ends.
    always = {"trait": {"key": "plan", "op": "exists"}}
    loop = {
        "start": "a",
        "nodes": {
            "a": {"type": "branch", "condition": always, "next": {"yes": "b", "no": "b"}},
            "b": {"type": "branch", "condition": always, "next": {"yes": "a", "no": "a"}},
        },
    }
    journey = live_journey(workspace.workspace, loop)
    (enrollment,) = enroll(journey, [ProfileFactory(workspace=workspace.workspace)])

    assert engine.advance(now=T0) == 1

    enrollment.refresh_from_db()
    assert enrollment.visit == steps.MAX_STEPS_PER_BATCH
    assert (enrollment.ended_at, enrollment.next_run_at) == (None, T0)
    assert engine.advance(now=T0) == 1


class Forgetful:
    """A node type that moves only the first customer of its batch."""

    TYPE = "forgetful"

    @staticmethod
    def run(batch):
        batch.go(batch.enrollments[0])


def test_a_customer_a_node_type_leaves_unhandled_is_ended_and_logged(
    workspace, monkeypatch, caplog
):
    monkeypatch.setitem(NODE_TYPES, Forgetful.TYPE, Forgetful)
    definition = {"start": "odd", "nodes": {"odd": {"type": "forgetful"}}}
    journey = live_journey(workspace.workspace, definition)
    moved, forgotten = enroll(
        journey, ProfileFactory.create_batch(2, workspace=workspace.workspace)
    )

    engine.advance(now=T0)

    assert [row[:2] for row in ledger(moved)] == [("exit", "completed")]
    forgotten.refresh_from_db()
    assert (forgotten.end_reason, forgotten.next_run_at) == ("completed", None)
    assert "left enrollment" in caplog.text


def test_kick_runs_the_due_steps_once_the_transaction_commits(
    workspace, django_capture_on_commit_callbacks
):
    journey = live_journey(workspace.workspace, {**WAIT_THEN_EXIT, "start": "done"})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (enrollment,) = enroll(
            journey, [ProfileFactory(workspace=workspace.workspace)], at=timezone.now()
        )
        engine.kick()
        assert Enrollment.objects.get(pk=enrollment.pk).ended_at is None

    assert len(callbacks) == 1
    assert Enrollment.objects.get(pk=enrollment.pk).end_reason == Enrollment.COMPLETED
