"""Customers enter a live journey by its entry rules, set-based, each entry in
the ledger, and the engine runs their first step."""

import datetime as dt
import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext

from engage.journeys import engine, entry
from engage.journeys.models import Enrollment, Journey
from engage.journeys.nodes import wait
from engage.messaging.models import MessageDecision
from engage.profiles.merge import merge_profiles
from engage.profiles.models import Profile, ProfileMerge
from tests.customer_factories import EventFactory, ProfileFactory

from .factories import live_journey
from .walking import T0, counts, ledger

pytestmark = pytest.mark.django_db


PRO = {"trait": {"key": "plan", "op": "equals", "value": "pro"}}


def definition(**entry_rules) -> dict:
    return {
        "trigger": {"event": "Signed Up"},
        "entry": entry_rules,
        "start": "pause",
        "nodes": {
            "pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
            "done": {"type": "exit"},
        },
    }


def end(enrollment: Enrollment, at) -> None:
    Enrollment.objects.filter(pk=enrollment.pk).update(
        ended_at=at, end_reason=Enrollment.COMPLETED, next_run_at=None
    )


def test_customers_entering_a_journey_that_begins_with_a_wait_are_parked_by_the_entry(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, definition())
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)
    signed_up = EventFactory(profile=ann, name="Signed Up")

    result = entry.enroll(
        journey=journey,
        profile_ids=[ann.pk, bob.pk],
        now=T0,
        trigger_event_ids={ann.pk: signed_up.pk},
    )

    assert result.refused == {}
    by_profile = {e.profile_id: e for e in Enrollment.objects.filter(journey=journey)}
    assert set(by_profile) == {ann.pk, bob.pk}
    assert {e.pk for e in result.entered} == {e.pk for e in by_profile.values()}
    first = by_profile[ann.pk]
    assert (first.node_id, first.next_run_at, first.entered_at, first.waiting, first.visit) == (
        "pause",
        T0 + dt.timedelta(days=1),
        T0,
        True,
        0,
    )
    assert (first.trigger_event_id, first.version_id, first.origin_profile_id) == (
        signed_up.pk,
        journey.live_version_id,
        ann.pk,
    )
    assert ledger(first) == [("enter", "event", "pause"), ("wait", "duration", "pause")]
    row = MessageDecision.objects.filter(enrollment_id=first.pk).earliest("id")
    assert (row.detail, row.source, row.journey_id, row.journey_version) == (
        str(signed_up.pk),
        "journey",
        journey.pk,
        1,
    )
    assert ledger(by_profile[bob.pk]) == [
        ("enter", "manual", "pause"),
        ("wait", "duration", "pause"),
    ]
    assert counts(journey) == {("pause", ""): 2}
    assert engine.advance(now=T0 + dt.timedelta(hours=23)) == 0  # nothing left for the engine


def test_the_walk_at_entry_stops_at_a_step_that_writes_and_leaves_it_to_the_engine(workspace):
    ws = workspace.workspace
    journey = live_journey(
        ws,
        {
            "trigger": {"manual": True},
            "start": "pro?",
            "nodes": {
                "pro?": {"type": "branch", "condition": PRO, "next": {"yes": "mark", "no": "done"}},
                "mark": {"type": "update_traits", "traits": {"vip": True}, "next": "done"},
                "done": {"type": "exit"},
            },
        },
    )
    pro = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    free = ProfileFactory(workspace=ws, traits={"plan": "free"})

    entry.enroll(journey=journey, profile_ids=[pro.pk, free.pk], now=T0)

    walked = Enrollment.objects.get(profile=pro)
    assert (walked.node_id, walked.visit, walked.next_run_at, walked.ended_at) == (
        "mark",
        1,
        T0,
        None,
    )
    assert ledger(walked) == [("enter", "manual", "pro?"), ("branch", "yes", "pro?")]
    assert Profile.objects.get(pk=pro.pk).traits == {"plan": "pro"}  # not yet: the engine writes
    ended = Enrollment.objects.get(profile=free)
    assert (ended.node_id, ended.ended_at, ended.end_reason) == ("done", T0, "completed")
    assert ledger(ended)[-1] == ("exit", "completed", "done")

    assert engine.advance(now=T0) == 1
    assert Profile.objects.get(pk=pro.pk).traits == {"plan": "pro", "vip": True}
    assert Enrollment.objects.get(profile=pro).end_reason == "completed"
    assert counts(journey) == {
        ("pro?", ""): 2,
        ("pro?", "yes"): 1,
        ("pro?", "no"): 1,
        ("mark", ""): 1,
        ("mark", "next"): 1,
        ("done", ""): 2,
    }


def test_customers_still_enter_when_a_first_step_fails_and_the_engine_runs_it(
    workspace, monkeypatch, caplog
):
    ws = workspace.workspace
    journey = live_journey(ws, definition())
    ann = ProfileFactory(workspace=ws)

    def broken(batch):
        raise RuntimeError("a node type's bug")

    monkeypatch.setattr(wait, "run", broken)
    result = entry.enroll(journey=journey, profile_ids=[ann.pk], now=T0)

    enrollment = Enrollment.objects.get(profile=ann)
    assert [e.pk for e in result.entered] == [enrollment.pk]
    assert (enrollment.node_id, enrollment.next_run_at, enrollment.waiting) == ("pause", T0, False)
    assert ledger(enrollment) == [("enter", "manual", "pause")]
    assert "the first steps of 1 entries failed" in caplog.text
    monkeypatch.undo()
    assert engine.advance(now=T0) == 1
    assert ledger(enrollment)[-1] == ("wait", "duration", "pause")
    assert counts(journey) == {("pause", ""): 1}


def test_a_customer_matching_the_exit_condition_ends_at_entry(workspace):
    ws = workspace.workspace
    churned = {"trait": {"key": "plan", "op": "equals", "value": "churned"}}
    journey = live_journey(ws, {**definition(), "exit": {"when": churned}})
    stays = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    leaves = ProfileFactory(workspace=ws, traits={"plan": "churned"})

    entry.enroll(journey=journey, profile_ids=[stays.pk, leaves.pk], now=T0)

    assert Enrollment.objects.get(profile=stays).waiting
    left = Enrollment.objects.get(profile=leaves)
    assert (left.ended_at, left.end_reason) == (T0, "exited_condition")
    assert ledger(left) == [("enter", "manual", "pause"), ("exit", "exited_condition", "pause")]


def test_only_a_live_journey_takes_customers(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, definition())
    ann = ProfileFactory(workspace=ws)
    for status in (Journey.PAUSED, Journey.STOPPED, Journey.DRAFT):
        Journey.objects.filter(pk=journey.pk).update(status=status)
        result = entry.enroll(journey=journey, profile_ids=[ann.pk], now=T0)
        assert (result.entered, result.refused) == ([], {ann.pk: "not_live"})
    assert not Enrollment.objects.exists()
    assert not MessageDecision.objects.exists()


def test_one_active_enrollment_per_customer_and_unknown_customers_refused(
    workspace, other_workspace
):
    ws = workspace.workspace
    journey = live_journey(ws, definition(reentry="always"))
    ann = ProfileFactory(workspace=ws)
    stranger = ProfileFactory(workspace=other_workspace.workspace)
    merged = ProfileFactory(workspace=ws, merged_into=ann)

    first = entry.enroll(journey=journey, profile_ids=[ann.pk, ann.pk], now=T0)
    again = entry.enroll(
        journey=journey, profile_ids=[ann.pk, stranger.pk, merged.pk, 10**12], now=T0
    )

    assert [e.profile_id for e in first.entered] == [ann.pk]
    assert again.entered == []
    assert again.refused == {
        ann.pk: "already_active",
        stranger.pk: "no_profile",
        merged.pk: "no_profile",
        10**12: "no_profile",
    }
    assert Enrollment.objects.filter(journey=journey).count() == 1


@pytest.mark.parametrize(
    ("rules", "days_later", "refusal"),
    [
        ({}, 400, "reentry_never"),
        ({"reentry": "never"}, 1, "reentry_never"),
        ({"reentry": "always"}, 0, None),
        ({"reentry": "after", "after_days": 30}, 29, "reentry_too_soon"),
        ({"reentry": "after", "after_days": 30}, 30, None),
    ],
    ids=["default-never", "never", "always", "after-too-soon", "after-long-enough"],
)
def test_reentry_after_an_enrollment_ended(workspace, rules, days_later, refusal):
    ws = workspace.workspace
    journey = live_journey(ws, definition(**rules))
    ann = ProfileFactory(workspace=ws)
    (first,) = entry.enroll(journey=journey, profile_ids=[ann.pk], now=T0).entered
    end(first, T0 + dt.timedelta(hours=1))

    later = T0 + dt.timedelta(days=days_later)
    result = entry.enroll(journey=journey, profile_ids=[ann.pk], now=later)

    if refusal is None:
        assert [e.entered_at for e in result.entered] == [later]
        assert Enrollment.objects.filter(journey=journey, ended_at__isnull=True).count() == 1
    else:
        assert (result.entered, result.refused) == ([], {ann.pk: refusal})
        assert Enrollment.objects.filter(journey=journey).count() == 1


def test_the_daily_limit_lets_the_first_in_and_opens_again_the_next_day(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, definition(daily_limit=3, reentry="always"))
    people = ProfileFactory.create_batch(5, workspace=ws)
    ids = [p.pk for p in people]
    morning = T0.replace(hour=1)

    first = entry.enroll(journey=journey, profile_ids=ids[:2], now=morning)
    second = entry.enroll(journey=journey, profile_ids=ids[2:], now=morning.replace(hour=23))
    tomorrow = entry.enroll(journey=journey, profile_ids=ids[3:], now=T0 + dt.timedelta(days=1))

    assert len(first.entered) == 2
    assert [e.profile_id for e in second.entered] == [ids[2]]
    assert second.refused == {ids[3]: "daily_limit", ids[4]: "daily_limit"}
    assert [e.profile_id for e in tomorrow.entered] == ids[3:]


def test_entry_is_set_based_whatever_the_number_of_customers(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite splits a large insert by its limit on parameters")
    ws = workspace.workspace
    few = ProfileFactory.create_batch(2, workspace=ws)
    many = ProfileFactory.create_batch(300, workspace=ws)
    queries = []
    for name, people in (("few", few), ("many", many)):
        journey = live_journey(ws, definition(daily_limit=1000), name=name)
        with CaptureQueriesContext(connection) as captured:
            result = entry.enroll(journey=journey, profile_ids=[p.pk for p in people], now=T0)
        assert len(result.entered) == len(people)
        queries.append(len(captured))
    assert queries[0] == queries[1]
    assert MessageDecision.objects.filter(action="enter").count() == 302


def test_the_engine_takes_the_first_step_once_the_entry_commits(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    journey = live_journey(ws, definition())
    ann = ProfileFactory(workspace=ws)

    with django_capture_on_commit_callbacks(execute=True):
        (enrollment,) = entry.enroll(journey=journey, profile_ids=[ann.pk]).entered

    enrollment.refresh_from_db()
    assert (enrollment.node_id, enrollment.waiting) == ("pause", True)
    assert ledger(enrollment) == [("enter", "manual", "pause"), ("wait", "duration", "pause")]


@pytest.mark.django_db(transaction=True)
def test_an_entry_racing_a_merge_that_brings_the_customer_in_refuses_them(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers run on PostgreSQL")
    ws = workspace.workspace
    journey = live_journey(ws, definition(reentry="always"))
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)
    (bobs,) = entry.enroll(journey=journey, profile_ids=[bob.pk], now=T0).entered
    results = []

    def enter_ann():
        try:
            results.append(entry.enroll(journey=journey, profile_ids=[ann.pk], now=T0))
        finally:
            close_old_connections()
            connection.close()

    racer = threading.Thread(target=enter_ann)
    # The merge moves Bob's enrollment to Ann but has not committed when Ann's
    # entry, which cannot see it yet, inserts hers.
    with transaction.atomic():
        merge_profiles(survivor=ann, merged=bob, reason=ProfileMerge.MANUAL)
        racer.start()
        deadline = time.monotonic() + 20
        while not _blocked() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _blocked()
    racer.join(30)

    (result,) = results
    assert (result.entered, result.refused) == ([], {ann.pk: "already_active"})
    (active,) = Enrollment.objects.filter(journey=journey, ended_at__isnull=True)
    assert (active.pk, active.profile_id) == (bobs.pk, ann.pk)


def _blocked() -> bool:
    """Another session waits on a lock (pg_locks is read live)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0
