"""The real-time re-check of every segment for every customer ends where a
full refresh of each segment, in reference order, ends: the same stays, the
same membership events on each timeline, the same counts and sizes; over
generated customers, histories and segments, some referring to others. And
re-checks running at once end where one would."""

import datetime as dt
import random
import threading

import pytest
import time_machine
from django.db import connection, transaction

from engage.events.models import Event
from engage.profiles.models import Profile
from engage.segments import membership, realtime
from engage.segments.models import Segment, SegmentMembership, SegmentSize
from engage.segments.services import save_segment
from tests.customer_factories import EventFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=2)
NAMES = ["Order Completed", "Page Viewed", "App Opened"]


class Rollback(Exception):
    pass


def leaf(rng: random.Random, earlier: list[Segment]) -> dict:
    kind = rng.choice(["trait", "event", "segment" if earlier else "event"])
    if kind == "trait":
        return {"trait": {"key": "plan", "op": "equals", "value": rng.choice(["pro", "free"])}}
    if kind == "segment":
        # Mostly the latest: chains of references, resolved level by level.
        return {"segment": {"id": rng.choice([earlier[-1], rng.choice(earlier)]).pk}}
    event = {"name": rng.choice(NAMES)}
    if rng.random() < 0.5:
        event["within_days"] = rng.randint(1, 10)
    if rng.random() < 0.4:
        event["at_least"] = rng.randint(1, 3)
    elif rng.random() < 0.2:
        event["did"] = False
    return {"event": event}


def rules(rng: random.Random, earlier: list[Segment]) -> dict:
    shape = rng.choice(["leaf", "and", "or", "not"])
    if shape == "leaf":
        return leaf(rng, earlier)
    if shape == "not":
        return {"not": leaf(rng, earlier)}
    return {shape: [leaf(rng, earlier) for _ in range(rng.randint(2, 3))]}


def customers(ws, rng: random.Random, count: int) -> list[Profile]:
    profiles = Profile.objects.bulk_create(
        Profile(workspace=ws, traits={"plan": rng.choice(["pro", "free"])}) for _ in range(count)
    )
    for profile in profiles:
        for _ in range(rng.randint(0, 4)):
            track(profile, rng, NOW - dt.timedelta(days=rng.uniform(0, 12)))
    return profiles


def track(profile: Profile, rng: random.Random, when: dt.datetime) -> None:
    EventFactory(profile=profile, name=rng.choice(NAMES), timestamp=when)


def outcome(ws, segments: list[Segment]):
    """What a user sees: stays, membership events, counts, and the sizes
    stored for today (a re-check stores them for the segments it changed)."""
    stays = set(
        SegmentMembership.objects.filter(segment__workspace=ws).values_list(
            "segment__name", "profile_id", "entered_at", "exited_at"
        )
    )
    events = sorted(
        Event.objects.filter(workspace=ws, name__startswith="segment_").values_list(
            "profile_id", "name", "timestamp", "properties__segment_name"
        )
    )
    counts = dict(Segment.objects.filter(workspace=ws).values_list("name", "member_count"))
    sizes = dict(
        SegmentSize.objects.filter(segment__workspace=ws, date=LATER.date()).values_list(
            "segment__name", "size"
        )
    )
    return stays, events, counts, sizes


@pytest.mark.parametrize("seed", range(8))
def test_a_recheck_of_every_customer_agrees_with_a_full_refresh(make_workspace, seed):
    rng = random.Random(seed)
    ws = make_workspace(f"shop {seed}").workspace
    profiles = customers(ws, rng, 30)
    segments: list[Segment] = []
    for n in range(7):
        segments.append(save_segment(workspace=ws, name=f"segment {n}", rules=rules(rng, segments)))
    for segment in segments:  # created in reference order
        membership.refresh(segment, now=NOW)

    # What happened since: plans changed, new events, a customer merged away.
    for profile in rng.sample(profiles, 15):
        profile.traits = {"plan": rng.choice(["pro", "free"])}
    Profile.objects.bulk_update(profiles, ["traits"])
    for profile in rng.sample(profiles, 12):
        track(profile, rng, LATER - dt.timedelta(hours=rng.uniform(0, 40)))
    Profile.objects.filter(pk=profiles[-1].pk).update(merged_into=profiles[0])

    with time_machine.travel(LATER, tick=False):
        try:
            with transaction.atomic():
                realtime.recheck(
                    workspace_id=ws.pk,
                    profile_ids=[p.pk for p in profiles],
                    segment_ids=[s.pk for s in reversed(segments)],
                )
                rechecked = outcome(ws, segments)
                raise Rollback
        except Rollback:
            pass
        for segment in segments:
            membership.refresh(segment, now=LATER)
        refreshed = outcome(ws, segments)

    assert rechecked[:3] == refreshed[:3]
    changed = {name for name, _, entered, exited in rechecked[0] if LATER in (entered, exited)}
    assert rechecked[3] == {name: refreshed[3][name] for name in changed}
    assert any(stay[3] == LATER for stay in refreshed[0])  # someone left
    assert any(stay[2] == LATER for stay in refreshed[0])  # someone entered


@pytest.mark.django_db(transaction=True)
def test_concurrent_rechecks_of_many_segments_end_as_one_would(workspace):
    """Four workers re-check the same segments for the same customers at once:
    each stay begins once, with one event, and each count moves once."""
    ws = workspace.workspace
    rng = random.Random(7)
    profiles = customers(ws, rng, 20)
    segments = [
        Segment.objects.create(workspace=ws, name=f"segment {n}", rules=r)
        for n, r in enumerate(
            [
                {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
                {"trait": {"key": "plan", "op": "equals", "value": "free"}},
                {"event": {"name": "Order Completed"}},
                {"event": {"name": "Page Viewed", "did": False}},
                {"or": [{"event": {"name": "App Opened"}}, {"event": {"name": "Page Viewed"}}]},
            ]
        )
    ]
    barrier, errors = threading.Barrier(4), []

    def recheck(order):
        try:
            barrier.wait(timeout=5)
            realtime.recheck(
                workspace_id=ws.pk, profile_ids=[p.pk for p in profiles], segment_ids=order
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    ids = [s.pk for s in segments]
    threads = [threading.Thread(target=recheck, args=(ids[::step],)) for step in (1, -1, 1, -1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []

    stays = SegmentMembership.objects.filter(segment__in=segments)
    assert stays.count() == stays.values("segment", "profile").distinct().count() > 20
    entered = Event.objects.filter(workspace=ws, name="segment_entered")
    assert sorted(entered.values_list("message_id", flat=True)) == sorted(
        f"segment_entered:{pk}" for pk in stays.values_list("pk", flat=True)
    )
    for segment in segments:
        segment.refresh_from_db()
        assert segment.member_count == stays.filter(segment=segment).count()
