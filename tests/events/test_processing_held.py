"""A worker leaves the events whose identifiers another worker holds, on PostgreSQL."""

import threading

import pytest
from django.db import connection, transaction

from engage.events import processing
from engage.events.models import Event
from engage.profiles.models import ProfileMerge
from engage.profiles.resolution import lock_identifiers
from tests.identity_helpers import identities, pending_event, profile_of

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("identifier locks exist on PostgreSQL only")


@pytest.fixture
def other_worker():
    """Hold identifier locks in another transaction until the test lets go."""
    holding, release, threads = threading.Event(), threading.Event(), []

    def hold(workspace, pairs):
        def run():
            try:
                with transaction.atomic():
                    lock_identifiers(workspace.pk, pairs)
                    holding.set()
                    release.wait(timeout=10)
            finally:
                connection.close()

        threads.append(threading.Thread(target=run))
        threads[-1].start()
        assert holding.wait(timeout=10)
        return release

    yield hold
    release.set()
    for thread in threads:
        thread.join(timeout=10)


def processed_ids():
    return set(Event.objects.filter(processed_at__isnull=False).values_list("pk", flat=True))


def test_events_of_a_held_customer_are_left_and_keep_their_order(workspace, other_worker):
    ws = workspace.workspace
    pending_event(ws, anonymous_id="busy")
    pending_event(ws, "identify", user_id="u", anonymous_id="busy")
    # Free on its own, but it must follow the identify that ties u to busy.
    pending_event(ws, user_id="u")
    free = pending_event(ws, anonymous_id="free")
    release = other_worker(ws, [("anonymous_id", "busy")])

    claimed, left = processing.process_batch(batch_size=10, outcome=processing.Outcome())

    assert (claimed, left) == (4, 3)
    assert processed_ids() == {free.pk}
    release.set()
    assert processing.process_pending() == 3
    # In order, the identify tied u to the visitor's profile: no second
    # profile for u, no merge.
    assert ProfileMerge.objects.count() == 0
    assert identities(profile_of(ws, "user_id", "u")) == {
        ("user_id", "u"),
        ("anonymous_id", "busy"),
    }


def test_a_batch_whose_events_are_all_held_waits_for_them(workspace, other_worker):
    ws = workspace.workspace
    events = [pending_event(ws, anonymous_id="busy") for _ in range(3)]
    release = other_worker(ws, [("anonymous_id", "busy")])
    done = []

    def work():
        try:
            done.append(processing.process_pending())
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=0.3)
    assert worker.is_alive() and processed_ids() == set()
    release.set()
    worker.join(timeout=10)
    assert done == [3]
    assert processed_ids() == {e.pk for e in events}
