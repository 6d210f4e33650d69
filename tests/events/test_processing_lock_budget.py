"""A batch's identifier locks stay within a budget, and a full lock table shrinks the claims."""

import logging

import pytest
from django.db import connection

from engage.events import processing
from engage.events.models import Event
from engage.events.signals import events_processed
from engage.profiles.models import Profile
from tests.identity_helpers import pending_event, profile_of

# Advisory locks are held until the transaction ends: each batch must be one.
pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("identifier locks are PostgreSQL's advisory locks")


@pytest.fixture
def advisory_locks_per_batch():
    """The advisory locks this session holds as each batch sends ``events_processed``
    (inside its transaction, once every identifier is locked)."""
    held = []

    def receiver(sender, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks "
                "WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
            held.append(cursor.fetchone()[0])

    events_processed.connect(receiver, weak=False)
    yield held
    events_processed.disconnect(receiver)


def pending_ids():
    return set(Event.objects.filter(processed_at__isnull=True).values_list("pk", flat=True))


def test_a_claim_past_the_budget_leaves_its_tail_for_the_next_claim(
    workspace, monkeypatch, advisory_locks_per_batch
):
    monkeypatch.setattr(processing, "MAX_IDENTIFIER_LOCKS", 5)
    ws = workspace.workspace
    first = [
        pending_event(ws, "identify", user_id="u1", anonymous_id="a1"),
        pending_event(ws, "identify", user_id="u2", anonymous_id="a2"),
        # The same two identifiers again: no new lock.
        pending_event(ws, user_id="u1", anonymous_id="a1"),
    ]
    # Two more would make six.
    rest = [
        pending_event(ws, "identify", user_id="u3", anonymous_id="a3"),
        pending_event(ws, "identify", user_id="u1", traits={"plan": "pro"}),
    ]

    batch = processing.process_batch(batch_size=10, outcome=processing.Outcome())

    assert batch == (5, 0, 2)
    assert advisory_locks_per_batch == [4]
    assert pending_ids() == {e.pk for e in rest}
    assert (
        Event.objects.filter(pk__in=[e.pk for e in first], processed_at__isnull=False).count() == 3
    )
    assert processing.process_pending() == 2
    assert advisory_locks_per_batch == [4, 3]
    u1 = profile_of(ws, "user_id", "u1")
    assert u1.traits == {"plan": "pro"}
    assert list(Event.objects.filter(user_id="u1").values_list("profile", flat=True)) == [u1.pk] * 3
    assert Profile.objects.filter(merged_into__isnull=True).count() == 3


def test_an_event_with_more_identifiers_than_the_budget_goes_through_alone(
    workspace, monkeypatch, advisory_locks_per_batch
):
    monkeypatch.setattr(processing, "MAX_IDENTIFIER_LOCKS", 1)
    ws = workspace.workspace
    both = pending_event(ws, "identify", user_id="u", anonymous_id="a")
    pending_event(ws, anonymous_id="b")

    assert processing.process_pending() == 2

    assert advisory_locks_per_batch == [2, 1]
    assert Event.objects.get(pk=both.pk).profile_id == profile_of(ws, "user_id", "u").pk


@pytest.fixture
def lock_table_of(monkeypatch):
    """Make PostgreSQL refuse, as a full lock table does, any batch locking more
    than ``capacity`` identifiers; returns the claim sizes that were tried."""
    real = processing.lock_identifiers
    tried = []

    def install(capacity):
        def lock_identifiers(workspace_id, pairs):
            tried.append(len(pairs))
            if len(pairs) > capacity:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "DO $$ BEGIN RAISE EXCEPTION 'out of shared memory' "
                        "USING ERRCODE = '53200'; END $$"
                    )
            real(workspace_id, pairs)

        monkeypatch.setattr(processing, "lock_identifiers", lock_identifiers)
        return tried

    return install


def test_a_full_lock_table_halves_the_claims_until_they_fit(workspace, lock_table_of, caplog):
    ws = workspace.workspace
    events = [pending_event(ws, anonymous_id=f"a{n}") for n in range(8)]
    tried = lock_table_of(3)

    with caplog.at_level(logging.WARNING, logger="engage.events.processing"):
        assert processing.run(batch_size=8).processed == 8

    # 8 and 4 do not fit: never retried event by event, which takes the same locks.
    assert tried == [8, 4, 2, 2, 2, 2]
    assert "lock table is full; claiming 4 events" in caplog.text
    assert "claiming 2 events" in caplog.text
    assert pending_ids() == set()
    assert all(Event.objects.get(pk=e.pk).profile_id for e in events)


def test_a_lock_table_too_full_for_one_event_fails_the_run_and_loses_nothing(
    workspace, lock_table_of
):
    ws = workspace.workspace
    event = pending_event(ws, "identify", user_id="u", anonymous_id="a")
    lock_table_of(1)

    with pytest.raises(processing.LockTableFull):
        processing.run(batch_size=4)

    assert pending_ids() == {event.pk}
    assert Profile.objects.count() == 0
