"""Identity resolution under real concurrency, on PostgreSQL.

Several processing workers run at once in production. Each race here starts
real threads (each with its own database connection) at a barrier, and is
repeated a few times, since a race that loses only sometimes still loses.
"""

import threading
from collections import Counter
from functools import partial

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_save

from engage.events import processing
from engage.events.models import Event
from engage.events.processing import process_pending, run
from engage.profiles.locks import ProfilesMoved
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import Identity, Profile, ProfileMerge
from tests.customer_factories import EventFactory, IdentityFactory, ProfileFactory
from tests.identity_helpers import identities, pending_event, profile_of, send

pytestmark = pytest.mark.usefixtures("transactional_db")

ROUNDS = 5


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL; SQLite runs one writer at a time")


def race(*functions):
    """Run the functions in threads started together; returns their results in order.

    An exception in any thread is raised here.
    """
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)
    errors: list = []

    def worker(index, function):
        try:
            barrier.wait(timeout=10)
            results[index] = function()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, function))
        for index, function in enumerate(functions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    if errors:
        raise errors[0]
    return results


def one_at_a_time():
    """A worker that claims a single event per batch, so each racer gets its own."""
    return run(batch_size=1).processed


def canonical_profiles(workspace):
    return Profile.objects.filter(workspace=workspace, merged_into__isnull=True)


def test_two_identifies_tying_the_same_pair_merge_once(make_workspace):
    for round_ in range(ROUNDS):
        ws = make_workspace(f"race-{round_}").workspace
        known = send(ws, "identify", user_id="u-1", traits={"plan": "pro"}).profile
        visitor = send(ws, anonymous_id="a-1", name="Viewed Pricing").profile
        tying = [pending_event(ws, "identify", user_id="u-1", anonymous_id="a-1") for _ in range(2)]

        assert sum(race(one_at_a_time, one_at_a_time)) == len(tying)

        [survivor] = canonical_profiles(ws)
        assert survivor.pk == min(known.pk, visitor.pk)
        assert identities(survivor) == {("user_id", "u-1"), ("anonymous_id", "a-1")}
        assert set(Event.objects.filter(workspace=ws).values_list("profile", flat=True)) == {
            survivor.pk
        }
        assert not Event.objects.filter(workspace=ws, processed_at__isnull=True).exists()
        merge = ProfileMerge.objects.get(workspace=ws)
        assert (merge.survivor_id, merge.merged_id) == (survivor.pk, max(known.pk, visitor.pk))
        assert merge.reason == ProfileMerge.IDENTIFY


def test_events_tying_three_customers_in_a_ring_at_once_make_one(make_workspace):
    for round_ in range(ROUNDS):
        ws = make_workspace(f"race-{round_}").workspace
        send(ws, user_id="u-1")
        send(ws, anonymous_id="a-2")
        send(ws, "identify", anonymous_id="a-3", traits={"email": "three@example.com"})
        ring = [
            {"user_id": "u-1", "anonymous_id": "a-2"},
            {"anonymous_id": "a-2", "traits": {"email": "three@example.com"}},
            {"user_id": "u-1", "traits": {"email": "three@example.com"}},
        ]
        for fields in ring:
            pending_event(ws, "identify", **fields)

        assert sum(race(*[one_at_a_time] * len(ring))) == len(ring)

        [profile] = canonical_profiles(ws)
        assert identities(profile) == {
            ("user_id", "u-1"),
            ("anonymous_id", "a-2"),
            ("anonymous_id", "a-3"),
            ("email", "three@example.com"),
        }
        assert Event.objects.filter(workspace=ws, profile=profile).count() == 6
        others = Profile.objects.filter(workspace=ws).exclude(pk=profile.pk)
        assert {p.merged_into_id for p in others} == {profile.pk}
        assert ProfileMerge.objects.filter(workspace=ws).count() == 2


def customer_with(workspace, kind, value, *, events):
    profile = ProfileFactory(workspace=workspace)
    IdentityFactory(profile=profile, kind=kind, value=value)
    EventFactory.create_batch(events, profile=profile)
    return profile


def test_merging_a_pair_both_ways_at_once_ends_with_one_merge(make_workspace):
    for round_ in range(ROUNDS):
        ws = make_workspace(f"race-{round_}").workspace
        a = customer_with(ws, Identity.USER_ID, "u-a", events=2)
        b = customer_with(ws, Identity.ANONYMOUS_ID, "a-b", events=3)

        results = race(
            partial(merge_profiles, survivor=a, merged=b, reason=ProfileMerge.MANUAL),
            partial(merge_profiles, survivor=b, merged=a, reason=ProfileMerge.MANUAL),
        )

        # One call merged, the other found them merged already.
        assert sorted(result is None for result in results) == [False, True]
        [survivor] = canonical_profiles(ws)
        [merged] = Profile.objects.filter(workspace=ws, merged_into=survivor)
        assert {survivor.pk, merged.pk} == {a.pk, b.pk}
        assert identities(survivor) == {("user_id", "u-a"), ("anonymous_id", "a-b")}
        assert Event.objects.filter(profile=survivor).count() == 5
        assert not Event.objects.filter(profile=merged).exists()
        merge = ProfileMerge.objects.get(workspace=ws)
        assert (merge.survivor_id, merge.merged_id) == (survivor.pk, merged.pk)


def test_a_ring_of_merges_at_once_leaves_one_customer_one_hop_away(make_workspace):
    for round_ in range(ROUNDS):
        ws = make_workspace(f"race-{round_}").workspace
        a = customer_with(ws, Identity.USER_ID, "u-a", events=1)
        b = customer_with(ws, Identity.ANONYMOUS_ID, "a-b", events=2)
        c = customer_with(ws, "crm", "c-c", events=3)

        results = race(
            partial(merge_profiles, survivor=a, merged=b, reason=ProfileMerge.MANUAL),
            partial(merge_profiles, survivor=b, merged=c, reason=ProfileMerge.MANUAL),
            partial(merge_profiles, survivor=c, merged=a, reason=ProfileMerge.MANUAL),
        )

        # Two merges make one customer of three; the third call found them merged.
        assert sum(result is not None for result in results) == 2
        [survivor] = canonical_profiles(ws)
        others = Profile.objects.filter(workspace=ws).exclude(pk=survivor.pk)
        assert {p.merged_into_id for p in others} == {survivor.pk}  # one hop, never a chain
        assert identities(survivor) == {("user_id", "u-a"), ("anonymous_id", "a-b"), ("crm", "c-c")}
        assert Event.objects.filter(profile=survivor).count() == 6
        assert ProfileMerge.objects.filter(workspace=ws).count() == 2


def test_splitting_a_merge_while_its_survivor_is_merged_away(make_workspace):
    for round_ in range(ROUNDS):
        ws = make_workspace(f"race-{round_}").workspace
        a = customer_with(ws, Identity.USER_ID, "u-a", events=1)
        b = customer_with(ws, Identity.ANONYMOUS_ID, "a-b", events=2)
        c = customer_with(ws, "crm", "c-c", events=3)
        first = merge_profiles(survivor=a, merged=b, reason=ProfileMerge.MANUAL)

        race(
            partial(split_merge, merge=first, by="operator"),
            partial(merge_profiles, survivor=c, merged=a, reason=ProfileMerge.MANUAL),
        )

        # In either order: b is itself again, a is part of c.
        assert set(canonical_profiles(ws)) == {b, c}
        assert identities(Profile.objects.get(pk=b.pk)) == {("anonymous_id", "a-b")}
        assert identities(Profile.objects.get(pk=c.pk)) == {("user_id", "u-a"), ("crm", "c-c")}
        assert Event.objects.filter(profile=b).count() == 2
        assert Event.objects.filter(profile=c).count() == 4
        assert Profile.objects.get(pk=a.pk).merged_into_id == c.pk
        first.refresh_from_db()
        assert first.split_by == "operator"


def test_a_new_email_seen_by_several_workers_at_once_makes_one_customer(make_workspace):
    for round_ in range(ROUNDS):
        ws = make_workspace(f"race-{round_}").workspace
        devices = [f"device-{n}" for n in range(3)]
        for device in devices:
            pending_event(ws, "identify", anonymous_id=device, traits={"email": "New@Example.com"})

        assert sum(race(*[one_at_a_time] * len(devices))) == len(devices)

        [profile] = Profile.objects.filter(workspace=ws)
        assert identities(profile) == {
            ("email", "new@example.com"),
            *(("anonymous_id", device) for device in devices),
        }
        assert not ProfileMerge.objects.filter(workspace=ws).exists()
        assert set(Event.objects.filter(workspace=ws).values_list("profile", flat=True)) == {
            profile.pk
        }


@pytest.fixture
def committed_processing(monkeypatch):
    """Counts, per event id, processing writes that were committed.

    Processing marks an event processed with ``save`` (event by event) or
    ``update_rows`` (a whole batch at once); both are counted.
    """
    counts: Counter = Counter()
    lock = threading.Lock()

    def count(pks):
        with lock:
            counts.update(pks)

    def written(pks, fields):
        if fields and "processed_at" in fields:
            # A write in a savepoint that rolled back (a retried conflict) is
            # not an effect: on_commit forgets it.
            transaction.on_commit(lambda pks=list(pks): count(pks))

    def receiver(sender, instance, update_fields=None, **kwargs):
        written([instance.pk], update_fields)

    update_rows = processing.update_rows

    def counting_update_rows(model, rows, fields):
        update_rows(model, rows, fields)
        if model is Event:
            written([row.pk for row in rows], fields)

    monkeypatch.setattr(processing, "update_rows", counting_update_rows)
    post_save.connect(receiver, sender=Event, weak=False)
    yield counts
    post_save.disconnect(receiver, sender=Event)


def test_racing_workers_process_each_event_exactly_once(
    make_workspace, settings, committed_processing
):
    settings.ENGAGE_PROCESSING_BATCH = 7
    for round_ in range(3):
        committed_processing.clear()
        ws = make_workspace(f"race-{round_}").workspace
        # Ten events each of a dozen visitors, interleaved. Four of them also
        # order as signed-in users and sign in midway, so that batches of
        # different workers touch the same customers and merge them.
        for n in range(120):
            visitor, step = n % 12, n // 12
            if visitor < 4 and step == 5:
                pending_event(ws, "identify", user_id=f"u-{visitor}", anonymous_id=f"a-{visitor}")
            elif visitor < 4 and step % 2 == 0:
                pending_event(ws, user_id=f"u-{visitor}", name="Ordered")
            else:
                pending_event(ws, anonymous_id=f"a-{visitor}", name="Viewed")
        pending = list(Event.objects.filter(workspace=ws).values_list("pk", flat=True))

        processed = race(*[process_pending] * 4)

        assert sum(processed) == len(pending)
        assert committed_processing == Counter(pending)
        assert not Event.objects.filter(workspace=ws, processed_at__isnull=True).exists()
        assert canonical_profiles(ws).count() == 12
        for visitor in range(4):
            profile = profile_of(ws, Identity.ANONYMOUS_ID, f"a-{visitor}")
            assert identities(profile) == {
                ("user_id", f"u-{visitor}"),
                ("anonymous_id", f"a-{visitor}"),
            }
            assert Event.objects.filter(profile=profile).count() == 10


def test_a_batch_rolled_back_on_contention_is_counted_once(
    workspace, monkeypatch, committed_processing
):
    ws = workspace.workspace
    events = [pending_event(ws, anonymous_id=f"a-{n}") for n in range(3)]
    pending = [event.pk for event in events]
    # The second event keeps conflicting, as if other workers kept merging its
    # profile: in the batch's fast pass, then in every attempt of its careful
    # pass, until the batch gives up and rolls back; the next claim succeeds.
    conflicts = iter(range(1 + processing.MAX_EVENT_ATTEMPTS))
    resolve = processing.resolve_batch

    def conflicting(sightings):
        carried = {s.message_id for s in sightings}
        if events[1].message_id in carried and next(conflicts, None) is not None:
            raise ProfilesMoved
        return resolve(sightings)

    monkeypatch.setattr(processing, "resolve_batch", conflicting)

    assert process_pending() == 3
    assert next(conflicts, None) is None  # the careful pass did give up
    assert committed_processing == Counter(pending)
