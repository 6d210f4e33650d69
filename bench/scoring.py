"""Scoring benchmark: a full scoring pass (every built-in model) over N customers.

For each size (``scripts/bench scoring -- --sizes 100000,300000``):

1. A seeded generator writes N profiles and about ``--events-per-profile``
   events each with ``generate_series`` (purchases with revenue, email and SMS
   deliveries and responses, pricing and guide views, page and product views),
   spread over a year with a skew: some customers are far more active than
   others and some went quiet months ago. Then ``ANALYZE``.
2. Baseline: one hand-written aggregate over the same rows, the least any
   per-customer score needs: ``GROUP BY profile_id`` over the workspace's
   events (count, last timestamp, revenue) into a table.
3. The scoring pass as ``compute_scores`` runs it: each model replaces its rows
   and writes this week's history row, one transaction per model.

Prints seconds per model, customers scored per second, and the pass's time as
a multiple of the baseline measured in the same run.
"""

import argparse
import os
import time
from datetime import UTC, datetime

from bench import PROFILES_SQL
from bench._pg import server_version, services, setup_django
from bench._timing import timed

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# Event mix by a uniform draw: (upper bound, name).
MIX = (
    (0.12, "Order Completed"),
    (0.22, "Email Delivered"),
    (0.26, "Email Opened"),
    (0.27, "Email Clicked"),
    (0.32, "SMS Delivered"),
    (0.33, "SMS Replied"),
    (0.36, "Pricing Viewed"),
    (0.37, "Guide Downloaded"),
    (0.70, "Product Viewed"),
    (1.01, "Page Viewed"),
)

EVENTS_SQL = """
    INSERT INTO events_event
        (workspace_id, message_id, type, name, user_id, anonymous_id, group_id, previous_id,
         timestamp, received_at, warnings, properties, traits, context, channel,
         profile_id, origin_profile_id, processed_at)
    SELECT %(ws)s, 'bench-' || g, 'track', name, '', '', '', '',
           ts, ts, '[]',
           CASE WHEN name = 'Order Completed'
                THEN jsonb_build_object('revenue', round((random() * 200)::numeric, 2),
                                        'currency', 'EUR')
                ELSE jsonb_build_object('path', '/p/' || (g %% 5000)) END,
           '{}', '{}', '', p, p, ts
    FROM (
        SELECT g, p,
               CASE {mix} END AS name,
               %(as_of)s - interval '1 day' * ((p %% 200) + random() * 165) AS ts
        FROM (
            SELECT g, %(first)s + floor(%(n)s * power(random(), 1.5))::bigint AS p,
                   random() AS draw
            FROM generate_series(1, %(total)s) g
        ) s
    ) e
"""

BASELINE_SQL = """
    CREATE TABLE bench_baseline AS
    SELECT profile_id, COUNT(*) AS events, MAX(timestamp) AS last_at,
           SUM(CASE WHEN name = 'Order Completed'
                    THEN (properties ->> 'revenue')::float8 ELSE 0 END) AS revenue
    FROM events_event WHERE workspace_id = %s AND profile_id IS NOT NULL
    GROUP BY profile_id
"""


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_baseline")
        cursor.execute("TRUNCATE events_event, profiles_profile, scoring_score CASCADE")


def generate(workspace_id: int, n: int, per_profile: int, seed: float) -> int:
    from django.db import connection, transaction

    mix = " ".join(f"WHEN draw < {bound} THEN '{name}'" for bound, name in MIX)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(PROFILES_SQL, [workspace_id, n])
        cursor.execute(
            "SELECT MIN(id) FROM profiles_profile WHERE workspace_id = %s", [workspace_id]
        )
        first = cursor.fetchone()[0]
        cursor.execute(
            EVENTS_SQL.replace("{mix}", mix),
            {"ws": workspace_id, "first": first, "n": n, "total": n * per_profile, "as_of": AS_OF},
        )
        events = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event")
        cursor.execute("ANALYZE profiles_profile")
    return events


def baseline(workspace_id: int) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_baseline")
        started = time.perf_counter()
        cursor.execute(BASELINE_SQL, [workspace_id])
        return time.perf_counter() - started


def run_size(n: int, args) -> dict:
    from engage.scoring.services import compute_workspace
    from engage.workspaces.services import create_workspace

    reset()
    workspace = create_workspace(name=f"bench-scoring-{n}-{os.getpid()}").workspace
    gen_seconds, events = timed(generate, workspace.pk, n, args.events_per_profile, args.seed)
    first_baseline = baseline(workspace.pk)  # also warms the cache for both
    pass_seconds, runs = timed(compute_workspace, workspace, as_of=AS_OF)
    base = min(first_baseline, baseline(workspace.pk))
    reset()
    return {
        "profiles": n,
        "events": events,
        "generate": gen_seconds,
        "baseline": base,
        "pass": pass_seconds,
        "models": {run.model: (run.rows, run.seconds) for run in runs},
    }


def report(results: list[dict], pg: str) -> None:
    print(f"\nscoring: PostgreSQL {pg}, {os.cpu_count()} CPUs")
    for r in results:
        print(
            f"  {r['profiles']:>9,} profiles, {r['events']:>11,} events "
            f"(generated in {r['generate']:.0f} s)"
        )
        for model, (rows, seconds) in r["models"].items():
            print(f"    {model:<15} {rows:>9,} rows  {seconds:7.2f} s")
        print(
            f"    full pass       {r['pass']:7.2f} s  ({r['profiles'] / r['pass']:,.0f} profiles/s)"
        )
        print(f"    baseline aggregate {r['baseline']:6.2f} s")
        print(f"    ratio pass : baseline = {r['pass'] / r['baseline']:.1f}x")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100000,300000", help="comma-separated profile counts")
    p.add_argument("--events-per-profile", type=int, default=10)
    p.add_argument("--seed", type=float, default=0.42, help="setseed() value, -1 to 1")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    with services() as env:
        setup_django(env)
        results = [run_size(n, args) for n in sizes]
        report(results, server_version(env["DATABASE_URL"]))


if __name__ == "__main__":
    main()
