"""Events following an older event another worker holds wait for it; the rest go ahead."""

import threading

import pytest
from django.db import connection, transaction

from engage.events import processing
from engage.events.models import Event
from engage.profiles.locks import lock_identifiers
from engage.profiles.models import ProfileMerge
from tests.identity_helpers import identities, pending_event, profile_of

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("workers run side by side on PostgreSQL only")


@pytest.fixture
def other_worker():
    """Claim an event in another transaction, as a worker busy with it would."""
    holding, release, threads = threading.Event(), threading.Event(), []

    def claim(event, pairs):
        def run():
            try:
                with transaction.atomic():
                    list(Event.objects.select_for_update().filter(pk=event.pk).values("pk"))
                    lock_identifiers(event.workspace_id, pairs)
                    holding.set()
                    release.wait(timeout=10)
            finally:
                connection.close()

        threads.append(threading.Thread(target=run))
        threads[-1].start()
        assert holding.wait(timeout=10)
        return release

    yield claim
    release.set()
    for thread in threads:
        thread.join(timeout=10)


def processed_ids():
    return set(Event.objects.filter(processed_at__isnull=False).values_list("pk", flat=True))


def test_a_customers_later_events_wait_for_an_older_one_in_flight(workspace, other_worker):
    ws = workspace.workspace
    busy = pending_event(ws, anonymous_id="busy")
    pending_event(ws, "identify", user_id="u", anonymous_id="busy")
    # Nothing in common with the busy event, but it must follow the identify
    # that ties u to the busy visitor.
    pending_event(ws, user_id="u")
    free = pending_event(ws, anonymous_id="free")
    release = other_worker(busy, [("anonymous_id", "busy")])

    batch = processing.process_batch(batch_size=10, outcome=processing.Outcome())

    assert batch == (3, 2, 0)
    assert processed_ids() == {free.pk}
    release.set()
    assert processing.process_pending() == 3
    # In order: the identify tied u to the visitor's profile, so no second
    # profile for u and no merge.
    assert ProfileMerge.objects.count() == 0
    assert identities(profile_of(ws, "user_id", "u")) == {
        ("user_id", "u"),
        ("anonymous_id", "busy"),
    }


def test_a_batch_that_must_all_wait_is_processed_once_the_older_event_is(workspace, other_worker):
    ws = workspace.workspace
    busy = pending_event(ws, anonymous_id="busy")
    later = [pending_event(ws, anonymous_id="busy") for _ in range(2)]
    release = other_worker(busy, [("anonymous_id", "busy")])
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
    assert processed_ids() == {busy.pk, *(e.pk for e in later)}


def test_a_customers_event_claimed_past_one_in_flight_waits_for_it(workspace, other_worker):
    """The claim skips a row another worker holds, between two claimed rows.

    So it is among the rows older than the batch's last, not its first; a
    batch that starts with an event left by an earlier claim, while another
    worker holds newer ones, looks the same.
    """
    ws = workspace.workspace
    pending_event(ws, "identify", user_id="u", anonymous_id="phone")
    processing.process_pending()
    stranger = pending_event(ws, anonymous_id="stranger")
    laptop_page = pending_event(ws, anonymous_id="laptop")
    laptop_identify = pending_event(ws, "identify", user_id="u", anonymous_id="laptop")
    # Claimed, identifiers not locked yet: the other worker is extracting them.
    release = other_worker(laptop_page, [])

    batch = processing.process_batch(batch_size=10, outcome=processing.Outcome())

    assert batch == (2, 1, 0)
    assert laptop_identify.pk not in processed_ids()
    assert stranger.pk in processed_ids()
    release.set()
    assert processing.process_pending() == 2
    # In order: the page view gave the laptop a profile of its own, which the
    # identify then merged into u's.
    merge = ProfileMerge.objects.get()
    assert merge.message_id == laptop_identify.message_id
    assert identities(profile_of(ws, "user_id", "u")) == {
        ("user_id", "u"),
        ("anonymous_id", "phone"),
        ("anonymous_id", "laptop"),
    }


def test_a_customers_event_older_than_the_one_in_flight_goes_ahead(workspace, other_worker):
    ws = workspace.workspace
    first = pending_event(ws, anonymous_id="laptop")
    held = pending_event(ws, anonymous_id="laptop")
    last = pending_event(ws, anonymous_id="laptop")
    release = other_worker(held, [])

    batch = processing.process_batch(batch_size=10, outcome=processing.Outcome())

    assert batch == (2, 1, 0)
    assert processed_ids() == {first.pk}
    release.set()
    assert processing.process_pending() == 2
    assert processed_ids() == {first.pk, held.pk, last.pk}


def test_a_customers_event_is_not_left_for_a_newer_one_beyond_the_batch(workspace):
    ws = workspace.workspace
    first = pending_event(ws, anonymous_id="laptop")
    pending_event(ws, anonymous_id="laptop")

    batch = processing.process_batch(batch_size=1, outcome=processing.Outcome())

    assert batch == (1, 0, 0)
    assert processed_ids() == {first.pk}


def test_an_unreadable_event_in_flight_holds_back_only_the_events_after_it(workspace, other_worker):
    """Another worker holds a row it cannot load either, and is setting it aside."""
    ws = workspace.workspace
    before = pending_event(ws, anonymous_id="early")
    unreadable = pending_event(ws, anonymous_id="poison")
    after = pending_event(ws, anonymous_id="late")
    too_deep = '{"x":' + "[" * 1500 + "]" * 1500 + "}"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_event SET context = %s::jsonb WHERE id = %s", [too_deep, unreadable.pk]
        )
    release = other_worker(unreadable, [])

    batch = processing.process_batch(batch_size=10, outcome=processing.Outcome())

    assert batch == (2, 1, 0)
    assert processed_ids() == {before.pk}
    release.set()
    assert processing.process_pending() == 1
    assert after.pk in processed_ids()
    assert Event.objects.values_list("quarantined_at", flat=True).get(pk=unreadable.pk)
