"""Journeys beside processing on PostgreSQL: processing holds a customer's
row while a merge moves the customer's enrollments. An engine batch holding
one of those enrollments never waits for the row, and a conversion takes
the row before the enrollment, so neither side is aborted as a deadlock
victim; the step runs once, a moment later, and the conversion ends the
enrollment under the merged customer."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from engage.journeys import engine, goals, steps
from engage.journeys.incoming import Seen
from engage.journeys.models import Enrollment
from engage.profiles.merge import merge_profiles
from engage.profiles.models import Profile, ProfileMerge
from tests.customer_factories import ProfileFactory

from .factories import live_journey
from .walking import counts, enroll, ledger

STEPS = {
    # Writes the customer's row.
    "update_traits": {"type": "update_traits", "traits": {"vip": True}},
    # Only a ledger row, whose reference to the customer is checked at commit.
    "exit": {"type": "exit"},
}


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer)")


def _waiting_or_done(worker: threading.Thread) -> None:
    """Until the worker waits on a lock (pg_locks is read live) or has finished."""
    deadline = time.monotonic() + 20
    while worker.is_alive() and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("step", list(STEPS))
def test_a_batch_and_a_merge_holding_each_others_rows_both_finish(workspace, step):
    ws = workspace.workspace
    node = dict(STEPS[step])
    if step != "exit":
        node["next"] = "done"
    journey = live_journey(
        ws,
        {
            "trigger": {"manual": True},
            "start": "step",
            "nodes": {"step": node, "done": {"type": "exit"}},
        },
    )
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)
    now = timezone.now()
    (enrollment,) = enroll(journey, [bob], at=now)
    claimed, errors = [], []

    def work():
        try:
            claimed.append(engine.advance(now=now))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    # Processing's order: the customers' rows first, then (the merge) their enrollments.
    with transaction.atomic():
        list(Profile.objects.select_for_update().filter(pk__in=[ann.pk, bob.pk]).order_by("pk"))
        worker.start()
        _waiting_or_done(worker)
        merge_profiles(survivor=ann, merged=bob, reason=ProfileMerge.MANUAL)
    worker.join(30)

    assert errors == []
    assert claimed == [1]
    enrollment.refresh_from_db()
    # Put back untouched, and moved to the survivor by the merge.
    assert (enrollment.profile_id, enrollment.node_id, enrollment.visit) == (ann.pk, "step", 0)
    assert enrollment.next_run_at == now + steps.HELD_RETRY
    assert ledger(enrollment) == []

    assert engine.advance(now=now + dt.timedelta(seconds=2)) == 1

    enrollment.refresh_from_db()
    assert enrollment.end_reason == Enrollment.COMPLETED
    if step == "update_traits":
        ann.refresh_from_db()
        assert ann.traits.get("vip") is True
        assert ledger(enrollment) == [("update", "changed", "step"), ("exit", "completed", "done")]
        assert counts(journey) == {("step", ""): 1, ("step", "next"): 1, ("done", ""): 1}
    else:
        assert ledger(enrollment) == [("exit", "completed", "step")]
        assert counts(journey) == {("step", ""): 1}


@pytest.mark.django_db(transaction=True)
def test_a_conversion_and_a_merge_of_its_customer_both_finish(workspace):
    ws = workspace.workspace
    journey = live_journey(
        ws,
        {
            "trigger": {"manual": True},
            "goal": {"event": "Order Completed"},
            "start": "step",
            "nodes": {"step": {"type": "exit"}},
        },
    )
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)
    now = timezone.now()
    (enrollment,) = enroll(journey, [bob], at=now)
    order = Seen(1, ws.pk, bob.pk, "Order Completed", now, {})
    ended, errors = [], []

    def convert():
        try:
            ended.append(goals.end_enrollments({enrollment.pk: ("converted", order)}, now=now))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=convert)
    with transaction.atomic():
        list(Profile.objects.select_for_update().filter(pk__in=[ann.pk, bob.pk]).order_by("pk"))
        worker.start()
        _waiting_or_done(worker)
        merge_profiles(survivor=ann, merged=bob, reason=ProfileMerge.MANUAL)
    worker.join(30)

    assert errors == []
    assert ended == [{enrollment.pk}]
    enrollment.refresh_from_db()
    assert (enrollment.profile_id, enrollment.end_reason) == (ann.pk, "converted")
    assert ledger(enrollment) == [("exit", "converted", "step")]
