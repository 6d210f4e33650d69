"""A real-time re-check costs the same statements for 10 segments as for 2,
and announces each round's membership events once."""

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.events.recording import EventToRecord, record_events
from engage.events.signals import events_recorded
from engage.profiles.models import Profile
from engage.segments import membership, realtime
from engage.segments.membership import ENTERED, EXITED
from engage.segments.models import SegmentMembership
from engage.segments.services import save_segment

pytestmark = pytest.mark.django_db

PROFILES = 200
PRO = {"trait": {"key": "plan", "op": "equals", "value": "pro"}}
# The pipeline benchmark's shapes: traits, event windows, counts, and/or.
OTHERS = [
    {"event": {"name": "Order Completed", "within_days": 7}},
    {"event": {"name": "Order Completed", "within_days": 30}},
    {"event": {"name": "Page Viewed", "at_least": 2}},
    {"event": {"name": "Page Viewed", "at_least": 4}},
    {
        "and": [
            {"trait": {"key": "plan", "op": "equals", "value": "free"}},
            {"event": {"name": "Order Completed"}},
        ]
    },
    {
        "or": [
            {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
            {"event": {"name": "Order Completed", "at_least": 2}},
        ]
    },
    {"not": {"event": {"name": "Page Viewed", "within_days": 3}}},
    {"event": {"name": "Order Completed", "at_most": 1, "within_days": 60}},
]


def track(ws, profiles, name, rng):
    """One event of ``name`` for each of ``profiles``, in the last 10 days."""
    now = dt.datetime.now(dt.UTC)
    record_events(
        [
            EventToRecord(
                workspace_id=ws.pk,
                profile_id=p.pk,
                name=name,
                message_id=f"{name}:{p.pk}:{rng.random()}",
                timestamp=now - dt.timedelta(days=rng.randint(0, 10)),
                properties={},
            )
            for p in profiles
        ]
    )


def rechecked(ws, rules: list[dict], django_capture_on_commit_callbacks):
    """Statements and announcements of a re-check of the segments of ``rules``
    (and of one referring to the first) for 200 customers, after a batch that
    changed their plans and orders, the segments stored as before the batch."""
    rng = random.Random(12)
    profiles = Profile.objects.bulk_create(
        Profile(workspace=ws, traits={"plan": rng.choice(["pro", "free"])}) for _ in range(PROFILES)
    )
    track(ws, rng.sample(profiles, 80), "Order Completed", rng)
    for _ in range(3):
        track(ws, rng.sample(profiles, 100), "Page Viewed", rng)
    segments = [
        save_segment(workspace=ws, name=f"segment {n}", rules=r) for n, r in enumerate(rules)
    ]
    pro_buyers = {"and": [{"segment": {"id": segments[0].pk}}, OTHERS[0]]}
    segments.append(save_segment(workspace=ws, name="pro buyers", rules=pro_buyers))
    ids = [p.pk for p in profiles]
    segment_ids = [s.pk for s in segments]
    realtime.recheck(workspace_id=ws.pk, profile_ids=ids, segment_ids=segment_ids)

    for profile in rng.sample(profiles, 60):
        profile.traits = {"plan": "free" if profile.traits["plan"] == "pro" else "pro"}
    Profile.objects.bulk_update(profiles, ["traits"])
    track(ws, rng.sample(profiles, 40), "Order Completed", rng)
    track(ws, rng.sample(profiles, 60), "Page Viewed", rng)
    heard = []

    def hear(sender, *, events, **kwargs):
        heard.append([e for e in events if e.name in (ENTERED, EXITED)])

    events_recorded.connect(hear, dispatch_uid="test-recheck-cost")
    try:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks() as announcements,
        ):
            realtime.recheck(workspace_id=ws.pk, profile_ids=ids, segment_ids=segment_ids)
        for announcement in announcements:
            announcement()
    finally:
        events_recorded.disconnect(dispatch_uid="test-recheck-cost")
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    return statements, [changed_segments(events) for events in heard], segments


def changed_segments(events) -> set[int]:
    """The segments whose stays the membership events ``events`` are about."""
    stays = [int(e.message_id.split(":")[1]) for e in events]
    return set(SegmentMembership.objects.filter(pk__in=stays).values_list("segment_id", flat=True))


def test_rechecking_ten_segments_costs_the_statements_of_two(
    make_workspace, django_capture_on_commit_callbacks
):
    two, two_rounds, two_segments = rechecked(
        make_workspace("two").workspace, [PRO], django_capture_on_commit_callbacks
    )
    ten, ten_rounds, ten_segments = rechecked(
        make_workspace("ten").workspace, [PRO, *OTHERS], django_capture_on_commit_callbacks
    )

    # The workspace's segments, then per round: no parallel workers, the
    # members, the current stays, the stays begun, the stays ended, their
    # events, the counts, today's sizes. "pro buyers", which refers to
    # "segment 0", waits for round two.
    assert len(two) == len(ten) == 1 + 2 * 8, "\n".join(sql[:80] for sql in ten)
    # One announcement per round, whatever the number of segments that changed.
    assert two_rounds == [{two_segments[0].pk}, {two_segments[-1].pk}]
    assert len(ten_rounds) == 2
    assert len(ten_rounds[0]) >= 8
    assert ten_rounds[1] == {ten_segments[-1].pk}


def pages_read(call):
    """The shared pages PostgreSQL read for the one statement ``call()``
    runs, and what ``call`` returned."""
    pages = []

    def explain(execute, sql, params, many, context):
        with connection.connection.cursor() as cursor:  # not through this wrapper
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            pages.append(cursor.fetchone()[0][0]["Plan"]["Shared Hit Blocks"])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        result = call()
    (read,) = pages
    return read, result


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plan")
def test_a_count_is_rechecked_reading_the_batchs_events_not_the_workspaces(make_workspace):
    """Re-checking 50 of 400 customers reads a fraction of what all 400 do.
    As a semi-join PostgreSQL read every event of that name in the
    workspace (as many pages for 50 as for 400), or re-ran the whole count
    for every customer, growing with the square of the batch."""
    ws = make_workspace("counts").workspace
    rng = random.Random(3)
    profiles = Profile.objects.bulk_create(Profile(workspace=ws) for _ in range(400))
    for _ in range(3):
        track(ws, profiles, "Page Viewed", rng)
    rules = {"event": {"name": "Page Viewed", "at_least": 2}}
    now = dt.datetime.now(dt.UTC)

    def rechecked(count: int) -> int:
        ids = [p.pk for p in profiles[:count]]
        read, members = pages_read(
            lambda: membership.evaluate(rules, workspace_id=ws.pk, now=now, profile_ids=ids)
        )
        assert members == set(ids)  # everyone viewed three pages
        return read

    assert 3 * rechecked(50) < rechecked(400)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plan")
def test_a_recheck_round_reads_the_batchs_customers_not_the_workspaces(make_workspace):
    """A round costs each segment a few index pages per customer re-checked,
    on tables never analyzed (a workspace growing faster than autovacuum):
    as joins planned for tables of five rows, each segment read every
    profile and every order of the workspace, 80 pages per customer here."""
    ws = make_workspace("round").workspace
    rng = random.Random(5)
    profiles = Profile.objects.bulk_create(
        Profile(workspace=ws, traits={"plan": rng.choice(["pro", "free"])}) for _ in range(2000)
    )
    track(ws, profiles, "Order Completed", rng)
    track(ws, profiles, "Page Viewed", rng)
    segments = [
        save_segment(workspace=ws, name=f"segment {n}", rules=rules)
        for n, rules in enumerate([PRO, *OTHERS])
    ]
    ids = [p.pk for p in profiles[:400]]

    read, _ = pages_read(lambda: membership._members(segments, ids, dt.datetime.now(dt.UTC)))

    assert read < len(ids) * len(segments) * 10
