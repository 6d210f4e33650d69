"""Segment benchmark: evaluating a typical event-window segment, and the
per-event cost of the real-time re-check (``scripts/bench segments``).

For each size N (``--sizes``, default 100k and 300k profiles) a workspace is
seeded in SQL with ``generate_series`` (seeded ``random()``, so every run
builds the same data): N profiles, a fifth of them on the "pro" plan, and
``--events`` events each (default 20) spread over the last 90 days among 8
event names. Then, on PostgreSQL:

1. The segment "did Order Completed at least 2 times in the last 30 days and
   plan = pro", compiled by ``engage.segments.compiler``: time of its COUNT,
   beside a hand-written SQL COUNT of the same set (the baseline; both must
   agree), best of ``--repeat`` alternating runs after a warm-up.
2. A full refresh of that segment into stored memberships (every member
   enters, with its ``segment_entered`` event), then a steady refresh (no
   change).
3. The real-time re-check: for ``--recheck`` random profiles, one re-check
   each (as after one processed event, with 5 segments in the workspace of
   which 2 depend on the event); mean and p95 milliseconds per event, then
   the same profiles in batches of 100 (as processing sends them).
"""

import argparse
import os
import random
import statistics
import time

from bench import EVENT_NAMES
from bench._pg import server_version, services, setup_django

TYPICAL = {
    "and": [
        {"event": {"name": "Order Completed", "at_least": 2, "within_days": 30}},
        {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
    ]
}
OTHERS = [
    {"event": {"name": "Order Completed", "within_days": 7}},
    {"event": {"name": "Video Played", "at_least": 3}},
    {"trait": {"key": "country", "op": "equals", "value": "FR"}},
    {"not": {"event": {"name": "Coupon Applied", "within_days": 60}}},
]
BASELINE = """
SELECT COUNT(*) FROM profiles_profile p
WHERE p.workspace_id = %(ws)s AND p.merged_into_id IS NULL
  AND p.traits ->> 'plan' = 'pro'
  AND p.id IN (
    SELECT e.profile_id FROM events_event e
    WHERE e.workspace_id = %(ws)s AND e.name = 'Order Completed'
      AND e.timestamp >= %(since)s AND e.timestamp <= %(now)s
    GROUP BY e.profile_id HAVING COUNT(*) >= 2)
"""


def seed(cursor, workspace_id: int, profiles: int, events: int, now) -> tuple[int, int]:
    """Profiles and their events in two INSERT … SELECT; returns the id range."""
    cursor.execute("SELECT setseed(0.42)")
    cursor.execute(
        """
        INSERT INTO profiles_profile (workspace_id, traits, trait_updated_at, timezone, locale,
            first_seen_at, last_seen_at, created_at)
        SELECT %s, jsonb_build_object('plan', CASE WHEN i %% 5 = 0 THEN 'pro' ELSE 'free' END,
                                      'country', (ARRAY['FR','DE','GB','US'])[1 + i %% 4]),
               '{}', '', '', %s - interval '90 days', %s, %s
        FROM generate_series(1, %s) i
        RETURNING id
        """,
        [workspace_id, now, now, now, profiles],
    )
    ids = [row[0] for row in cursor.fetchall()]
    low, high = min(ids), max(ids)
    cursor.execute(
        """
        INSERT INTO events_event (workspace_id, message_id, type, name, user_id, anonymous_id,
            group_id, previous_id, timestamp, received_at, warnings, properties, traits,
            context, channel, profile_id, origin_profile_id, processed_at)
        SELECT %s, 'b-' || p || '-' || k, 'track', (%s::text[])[1 + floor(random() * 8)::int],
               '', '', '', '', t, t, '[]', jsonb_build_object('total', floor(random() * 200)),
               '{}', '{}', '', p, p, t
        FROM generate_series(%s::bigint, %s::bigint) p, generate_series(1, %s) k,
             -- one time per row (k referenced so the subquery is not run once)
             LATERAL (SELECT %s - random() * interval '90 days' + (k * 0) * interval '1 s') w(t)
        """,
        [workspace_id, list(EVENT_NAMES), low, high, events, now],
    )
    # As autovacuum would have by then: statistics, and the visibility map that
    # lets the event index answer without visiting the table.
    cursor.execute("VACUUM (ANALYZE) profiles_profile")
    cursor.execute("VACUUM (ANALYZE) events_event")
    return low, high


def best_of(repeat: int, *runs) -> list[tuple[float, object]]:
    """Best time and result of each of ``runs``, timed alternately so that
    load from other processes hits them alike."""
    for run in runs:
        run()  # warm-up: data in cache
    times: list[list[float]] = [[] for _ in runs]
    results: list[object] = [None] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            results[i] = run()
            times[i].append(time.perf_counter() - start)
    return [(min(t), r) for t, r in zip(times, results, strict=True)]


def bench_size(size: int, args) -> dict:
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from engage.segments import membership, realtime, schema
    from engage.segments.compiler import member_query
    from engage.segments.models import Segment
    from engage.workspaces.services import create_workspace

    now = timezone.now()
    workspace = create_workspace(name=f"bench segments {size} {now:%H%M%S}").workspace
    started = time.perf_counter()
    with connection.cursor() as cursor:
        low, high = seed(cursor, workspace.pk, size, args.events, now)
    seeded = time.perf_counter() - started

    query = member_query(TYPICAL, workspace_id=workspace.pk, now=now)

    def compiled():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({query.sql}) q", query.params)
            return cursor.fetchone()[0]

    def baseline():
        with connection.cursor() as cursor:
            since = now - dt.timedelta(days=30)
            cursor.execute(BASELINE, {"ws": workspace.pk, "since": since, "now": now})
            return cursor.fetchone()[0]

    if args.explain:
        since = now - dt.timedelta(days=30)
        with connection.cursor() as cursor:
            for label, sql, params in (
                ("compiled", f"SELECT COUNT(*) FROM ({query.sql}) q", query.params),
                ("hand-written", BASELINE, {"ws": workspace.pk, "since": since, "now": now}),
            ):
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                print(f"-- {label} ({size:,} profiles)\n{plan}", flush=True)
    (compiled_s, compiled_count), (baseline_s, baseline_count) = best_of(
        args.repeat, compiled, baseline
    )
    if compiled_count != baseline_count:
        raise SystemExit(f"counts differ: compiled {compiled_count}, baseline {baseline_count}")

    segments = []
    for i, rules in enumerate([TYPICAL, *OTHERS]):
        segments.append(
            Segment.objects.create(
                workspace=workspace,
                name=f"s{i}",
                rules=rules,
                dependencies=schema.dependencies(rules).as_json(),
            )
        )
    typical = segments[0]
    start = time.perf_counter()
    membership.refresh(typical, now=now)
    first_refresh = time.perf_counter() - start
    start = time.perf_counter()
    membership.refresh(typical, now=now)
    steady_refresh = time.perf_counter() - start

    def recheck(profile_ids):
        """What processing triggers: find the affected segments, re-check them."""
        affected = realtime.affected_segments(
            workspace_id=workspace.pk, event_names={"Order Completed"}, trait_keys=set()
        )
        realtime.recheck(
            workspace_id=workspace.pk,
            profile_ids=profile_ids,
            segment_ids=[s.pk for s in affected],
        )

    rng = random.Random(7)
    sample = [rng.randint(low, high) for _ in range(args.recheck)]
    per_event = []
    for profile_id in sample:
        start = time.perf_counter()
        recheck([profile_id])
        per_event.append(time.perf_counter() - start)
    batch_times = []
    for i in range(0, len(sample), 100):
        chunk = sample[i : i + 100]
        start = time.perf_counter()
        recheck(chunk)
        batch_times.append((time.perf_counter() - start) / len(chunk))
    per_event.sort()
    return {
        "profiles": size,
        "events": size * args.events,
        "members": compiled_count,
        "seed_s": seeded,
        "compiled_ms": compiled_s * 1000,
        "baseline_ms": baseline_s * 1000,
        "first_refresh_s": first_refresh,
        "steady_refresh_s": steady_refresh,
        "recheck_mean_ms": statistics.mean(per_event) * 1000,
        "recheck_p95_ms": per_event[int(len(per_event) * 0.95) - 1] * 1000,
        "recheck_batched_ms": statistics.mean(batch_times) * 1000,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000", help="profile counts, comma-separated")
    parser.add_argument("--events", type=int, default=20, help="events per profile")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query (best kept)")
    parser.add_argument("--recheck", type=int, default=200, help="profiles re-checked one by one")
    parser.add_argument("--explain", action="store_true", help="print both query plans")
    args = parser.parse_args(argv)
    with services() as env:
        run(env, args)


def run(env: dict[str, str], args) -> None:
    setup_django(env)
    print(f"PostgreSQL {server_version(env['DATABASE_URL'])}, {os.cpu_count()} CPUs")
    print(
        "| profiles | events | members | seed s | compiled COUNT ms | hand-written COUNT ms "
        "| ratio | first refresh s | steady refresh s | re-check ms/event (mean, p95) "
        "| batched ms/event |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        r = bench_size(size, args)
        print(
            f"| {r['profiles']:,} | {r['events']:,} | {r['members']:,} | {r['seed_s']:.0f} "
            f"| {r['compiled_ms']:.0f} | {r['baseline_ms']:.0f} "
            f"| {r['baseline_ms'] / r['compiled_ms']:.2f} | {r['first_refresh_s']:.1f} "
            f"| {r['steady_refresh_s']:.1f} | {r['recheck_mean_ms']:.1f}, "
            f"{r['recheck_p95_ms']:.1f} | {r['recheck_batched_ms']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
