"""Recommendations benchmark: the co-purchase model over N order events.

``scripts/bench recommendations -- --orders 1000000``:

1. A seeded generator writes a catalog of ``--products`` products,
   ``--customers`` profiles and N ``Order Completed`` events with 1 to 4
   products each (2.5 on average; popular products far more often than the
   rest), spread over a year, with ``generate_series``. Then ``ANALYZE``.
2. Baseline: a plain ``GROUP BY product_id`` over the same order lines (the
   events' ``products`` arrays unnested), into a table: the least any count
   over the lines costs.
3. The co-purchase model as the nightly task computes it
   (``compute_copurchases``: the workspace's pairs replaced in one statement).
4. One batch lookup: ``bought_together`` for ``--batch`` customers, as a
   chunk of messages renders it (best of 3).

Prints each time and the model's time as a multiple of the baseline measured
in the same run.
"""

import argparse
import os
import time
from datetime import UTC, datetime

from bench import PROFILES_SQL
from bench._pg import server_version, services, setup_django
from bench._timing import timed

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

PRODUCTS_SQL = """
    INSERT INTO catalog_product
        (workspace_id, product_id, title, url, image, price, currency, category, in_stock,
         updated_at)
    SELECT %(ws)s, 'p' || g, 'Product ' || g, '', '', 10 + g %% 90, 'EUR', 'c' || (g %% 50),
           g %% 20 <> 0, now()
    FROM generate_series(0, %(products)s - 1) g
"""

ORDERS_SQL = """
    INSERT INTO events_event
        (workspace_id, message_id, type, name, user_id, anonymous_id, group_id, previous_id,
         timestamp, received_at, warnings, properties, traits, context, channel,
         profile_id, origin_profile_id, processed_at)
    SELECT %(ws)s, 'bench-' || g, 'track', 'Order Completed', '', '', '', '',
           ts, ts, '[]',
           jsonb_build_object('order_id', g, 'products', (
               SELECT jsonb_agg(jsonb_build_object(
                   'product_id', 'p' || floor(%(products)s * power(random(), 2))::int,
                   'quantity', 1))
               FROM generate_series(0, g %% 4) k
           )),
           '{}', '{}', '', p, p, ts
    FROM (
        SELECT g, %(first)s + floor(%(customers)s * random())::bigint AS p,
               %(as_of)s - interval '1 day' * (random() * 365) AS ts
        FROM generate_series(1, %(orders)s) g
    ) s
"""


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_baseline")
        cursor.execute(
            "TRUNCATE events_event, profiles_profile, catalog_product, catalog_copurchase CASCADE"
        )


def generate(workspace_id: int, args) -> int:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [args.seed])
        cursor.execute(PRODUCTS_SQL, {"ws": workspace_id, "products": args.products})
        cursor.execute(PROFILES_SQL, [workspace_id, args.customers])
        cursor.execute(
            "SELECT MIN(id) FROM profiles_profile WHERE workspace_id = %s", [workspace_id]
        )
        first = cursor.fetchone()[0]
        cursor.execute(
            ORDERS_SQL,
            {
                "ws": workspace_id,
                "first": first,
                "customers": args.customers,
                "orders": args.orders,
                "products": args.products,
                "as_of": AS_OF,
            },
        )
        orders = cursor.rowcount
    with connection.cursor() as cursor:
        for table in ("events_event", "profiles_profile", "catalog_product"):
            cursor.execute(f"ANALYZE {table}")
    return orders


def baseline(workspace_id: int) -> tuple[float, int]:
    """A plain GROUP BY over the order lines: seconds, and the lines read."""
    from django.db import connection

    from engage.catalog.orders import order_lines
    from engage.dialect import Dialect

    lines, params = order_lines(Dialect(connection), workspace_id=workspace_id)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_baseline")
        started = time.perf_counter()
        cursor.execute(
            f"CREATE TABLE bench_baseline AS SELECT product_id, COUNT(*) AS lines "
            f"FROM ({lines}) l GROUP BY product_id",
            params,
        )
        seconds = time.perf_counter() - started
        cursor.execute("SELECT SUM(lines) FROM bench_baseline")
        return seconds, cursor.fetchone()[0]


def lookup(workspace, size: int) -> float:
    """Best of 3: bought_together for ``size`` customers who ordered."""
    from engage.catalog.recommending import enabled_recommenders, recommend
    from engage.profiles.models import Profile

    profiles = list(Profile.objects.filter(workspace=workspace).order_by("pk")[:size])
    recommender = enabled_recommenders(workspace)["bought_together"]
    return min(timed(recommend, workspace, profiles, recommender)[0] for _ in range(3))


def run(args) -> dict:
    from engage.catalog.copurchase import compute_copurchases
    from engage.workspaces.services import create_workspace

    reset()
    workspace = create_workspace(name=f"bench-recommendations-{os.getpid()}").workspace
    gen_seconds, orders = timed(generate, workspace.pk, args)
    first_baseline, lines = baseline(workspace.pk)  # also warms the cache for both
    model_seconds, pairs = timed(compute_copurchases, workspace)
    base = min(first_baseline, baseline(workspace.pk)[0])
    lookup_seconds = lookup(workspace, args.batch)
    reset()
    return {
        "orders": orders,
        "lines": lines,
        "generate": gen_seconds,
        "baseline": base,
        "model": model_seconds,
        "pairs": pairs,
        "lookup": lookup_seconds,
    }


def report(r: dict, args, pg: str) -> None:
    print(f"\nrecommendations: PostgreSQL {pg}, {os.cpu_count()} CPUs")
    print(
        f"  {r['orders']:,} orders, {r['lines']:,} order lines, {args.products:,} products, "
        f"{args.customers:,} customers (generated in {r['generate']:.0f} s)"
    )
    print(f"    baseline GROUP BY product_id  {r['baseline']:7.2f} s")
    print(f"    co-purchase model             {r['model']:7.2f} s  ({r['pairs']:,} pairs)")
    print(f"    ratio model : baseline = {r['model'] / r['baseline']:.1f}x")
    print(
        f"    bought_together for {args.batch} customers  {r['lookup'] * 1000:7.1f} ms "
        f"({r['lookup'] * 1e6 / args.batch:.0f} us per customer)"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--products", type=int, default=5_000)
    p.add_argument("--customers", type=int, default=200_000)
    p.add_argument("--batch", type=int, default=500, help="customers per lookup")
    p.add_argument("--seed", type=float, default=0.42, help="setseed() value, -1 to 1")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    with services() as env:
        setup_django(env)
        result = run(args)
        report(result, args, server_version(env["DATABASE_URL"]))


if __name__ == "__main__":
    main()
