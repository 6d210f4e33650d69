"""Entries at once: customers of two entries into the same journey go in side
by side, while one customer, a daily limit, a pause and an entry too large
for a lock per customer still take turns."""

import threading
import time

import pytest
from django.db import close_old_connections, connection

from engage.journeys import entry, services
from engage.journeys.models import Enrollment, Journey
from tests.customer_factories import ProfileFactory

from .factories import WAIT_THEN_EXIT, live_journey
from .walking import T0

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="concurrent writers"),
]

# Ends at entry, where the one-active constraint does not look: only the
# customer's lock keeps a second entry out (re-entry ``never``).
ENDS_AT_ONCE = {"trigger": {"manual": True}, "start": "done", "nodes": {"done": {"type": "exit"}}}


class HeldEntry:
    """An entry in another thread, stopped once it holds its locks (before
    it reads the rules) until ``release``."""

    def __init__(self, monkeypatch, journey, profile_ids):
        self.locked, self.go = threading.Event(), threading.Event()
        self.result, self.thread = None, None
        original = entry._eligible

        def eligible(*args):
            if threading.current_thread() is self.thread:
                self.locked.set()
                assert self.go.wait(20)
            return original(*args)

        monkeypatch.setattr(entry, "_eligible", eligible)
        self.thread = threading.Thread(target=self._run, args=(journey, profile_ids))
        self.thread.start()
        assert self.locked.wait(20)

    def _run(self, journey, profile_ids):
        try:
            self.result = entry.enroll(journey=journey, profile_ids=profile_ids, now=T0)
        finally:
            close_old_connections()
            connection.close()

    def release(self):
        self.go.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        return self.result


def in_thread(target):
    """Run ``target`` in a thread with its own connection; returns the thread
    and a list that receives its result."""
    out = []

    def run():
        try:
            out.append(target())
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def waits_on_a_lock() -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def test_two_entries_of_different_customers_into_a_journey_go_on_side_by_side(
    workspace, monkeypatch
):
    journey = live_journey(workspace.workspace, WAIT_THEN_EXIT)
    ann, bob = ProfileFactory.create_batch(2, workspace=workspace.workspace)
    held = HeldEntry(monkeypatch, journey, [ann.pk])

    # Ann's entry holds the journey and Ann until it commits; Bob's does not
    # wait for it.
    bobs = entry.enroll(journey=journey, profile_ids=[bob.pk], now=T0)
    anns = held.release()

    assert [e.profile_id for e in bobs.entered] == [bob.pk]
    assert [e.profile_id for e in anns.entered] == [ann.pk]
    assert Enrollment.objects.filter(journey=journey, node_id="pause").count() == 2


def test_one_customer_entered_twice_at_once_enters_once(workspace, monkeypatch):
    journey = live_journey(workspace.workspace, ENDS_AT_ONCE)
    ann = ProfileFactory(workspace=workspace.workspace)
    held = HeldEntry(monkeypatch, journey, [ann.pk])

    thread, second = in_thread(lambda: entry.enroll(journey=journey, profile_ids=[ann.pk], now=T0))
    assert waits_on_a_lock()
    first = held.release()
    thread.join(30)

    assert [e.profile_id for e in first.entered] == [ann.pk]
    assert second[0].refused == {ann.pk: "reentry_never"}
    (enrollment,) = Enrollment.objects.filter(journey=journey)
    assert enrollment.end_reason == Enrollment.COMPLETED


def test_two_entries_at_once_keep_the_daily_limit(workspace, monkeypatch):
    journey = live_journey(workspace.workspace, {**WAIT_THEN_EXIT, "entry": {"daily_limit": 1}})
    ann, bob = ProfileFactory.create_batch(2, workspace=workspace.workspace)
    held = HeldEntry(monkeypatch, journey, [ann.pk])

    thread, second = in_thread(lambda: entry.enroll(journey=journey, profile_ids=[bob.pk], now=T0))
    assert waits_on_a_lock()
    first = held.release()
    thread.join(30)

    assert [e.profile_id for e in first.entered] == [ann.pk]
    assert second[0].refused == {bob.pk: "daily_limit"}


def test_a_pause_waits_for_the_entry_in_flight_and_the_next_entry_for_the_pause(
    workspace, monkeypatch
):
    journey = live_journey(workspace.workspace, WAIT_THEN_EXIT)
    ann, bob = ProfileFactory.create_batch(2, workspace=workspace.workspace)
    held = HeldEntry(monkeypatch, journey, [ann.pk])

    thread, paused = in_thread(lambda: services.pause(journey=Journey.objects.get(pk=journey.pk)))
    assert waits_on_a_lock()
    anns = held.release()
    thread.join(30)
    bobs = entry.enroll(journey=journey, profile_ids=[bob.pk], now=T0)

    assert paused[0].status == Journey.PAUSED
    assert [e.profile_id for e in anns.entered] == [ann.pk]
    assert bobs.refused == {bob.pk: "not_live"}


def test_an_entry_of_many_customers_holds_its_journeys_alone_without_a_lock_each(
    workspace, monkeypatch
):
    # PostgreSQL's shared lock table holds 6,400 locks by default: a
    # broadcast's slice of 10,000 customers cannot take one each.
    monkeypatch.setattr(entry, "MAX_CUSTOMER_LOCKS", 2)
    journey = live_journey(workspace.workspace, WAIT_THEN_EXIT)
    *many, bob = ProfileFactory.create_batch(4, workspace=workspace.workspace)
    held = HeldEntry(monkeypatch, journey, [p.pk for p in many])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert cursor.fetchone()[0] == 0

    thread, second = in_thread(lambda: entry.enroll(journey=journey, profile_ids=[bob.pk], now=T0))
    assert waits_on_a_lock()
    first = held.release()
    thread.join(30)

    assert len(first.entered) == 3
    assert [e.profile_id for e in second[0].entered] == [bob.pk]
