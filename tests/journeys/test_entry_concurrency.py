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
        held = threading.local()
        original = entry._eligible

        def eligible(*args):
            if getattr(held, "here", False):
                self.locked.set()
                assert self.go.wait(20)
            return original(*args)

        def enter():
            held.here = True
            return entry.enroll(journey=journey, profile_ids=profile_ids, now=T0)

        monkeypatch.setattr(entry, "_eligible", eligible)
        self.thread, self.out = in_thread(enter)
        assert self.locked.wait(20)

    def release(self):
        self.go.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        return self.out[0]

    def race(self, target):
        """Run ``target`` in another thread, check that it waits for this
        entry's locks, then let this entry finish; returns this entry's
        result and the target's."""
        thread, out = in_thread(target)
        assert waits_on_a_lock()
        first = self.release()
        thread.join(30)
        return first, out[0]


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

    first, second = held.race(lambda: entry.enroll(journey=journey, profile_ids=[ann.pk], now=T0))

    assert [e.profile_id for e in first.entered] == [ann.pk]
    assert second.refused == {ann.pk: "reentry_never"}
    (enrollment,) = Enrollment.objects.filter(journey=journey)
    assert enrollment.end_reason == Enrollment.COMPLETED


def test_two_entries_at_once_keep_the_daily_limit(workspace, monkeypatch):
    journey = live_journey(workspace.workspace, {**WAIT_THEN_EXIT, "entry": {"daily_limit": 1}})
    ann, bob = ProfileFactory.create_batch(2, workspace=workspace.workspace)
    held = HeldEntry(monkeypatch, journey, [ann.pk])

    first, second = held.race(lambda: entry.enroll(journey=journey, profile_ids=[bob.pk], now=T0))

    assert [e.profile_id for e in first.entered] == [ann.pk]
    assert second.refused == {bob.pk: "daily_limit"}


def test_a_pause_waits_for_the_entry_in_flight_and_the_next_entry_for_the_pause(
    workspace, monkeypatch
):
    journey = live_journey(workspace.workspace, WAIT_THEN_EXIT)
    ann, bob = ProfileFactory.create_batch(2, workspace=workspace.workspace)
    held = HeldEntry(monkeypatch, journey, [ann.pk])

    anns, paused = held.race(lambda: services.pause(journey=Journey.objects.get(pk=journey.pk)))
    bobs = entry.enroll(journey=journey, profile_ids=[bob.pk], now=T0)

    assert paused.status == Journey.PAUSED
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

    first, second = held.race(lambda: entry.enroll(journey=journey, profile_ids=[bob.pk], now=T0))

    assert len(first.entered) == 3
    assert [e.profile_id for e in second.entered] == [bob.pk]
