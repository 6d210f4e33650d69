"""Metrics benchmark: every metric of docs/metrics.md over a generated shop.

``scripts/bench metrics -- --customers 1000000 --events 20000000`` (the
issue's size; smaller for a quick run):

1. A seeded generator (``generate_series``, ``setseed``) writes the customers,
   their events over a year (a first "Signed Up" per customer with a
   campaign source and a channel; then page views, purchases with revenue,
   inbound messages, tickets opened and solved, and engage's own deliveries,
   skewed so some customers are far more active than others) and one message
   per ten events (four channels, some from a journey, with open, click and
   reply times), then ``ANALYZE``.
2. Baseline: a plain ``GROUP BY profile_id`` over the same events (count,
   first and last timestamp), the least a per-customer metric reads.
3. Each metric over the whole year, computed live (no rollups), then the
   daily rollup task's first run (the whole history) and the next day's run,
   then attribution and retention again for the same year, read from the
   rollups.

Prints each metric's seconds beside the baseline, with the ratio.
"""

import argparse
import os
import time
from datetime import UTC, date, datetime, timedelta

from bench import PROFILES_SQL
from bench._pg import server_version, services, setup_django
from bench._timing import timed

TODAY = date(2026, 6, 1)
START, END = date(2025, 6, 1), date(2026, 5, 31)
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)

# After each customer's "Signed Up", events by a uniform draw: (upper bound, name, channel).
MIX = (
    (0.55, "Page Viewed", "web"),
    (0.70, "Order Completed", ""),
    (0.85, "Email Delivered", "email"),
    (0.90, "SMS Message Received", "sms"),
    (0.93, "WhatsApp Message Received", "whatsapp"),
    (0.965, "Ticket Opened", ""),
    (1.01, "Ticket Solved", ""),
)
SOURCES = ("google", "newsletter", "facebook", "")
FIRST_CHANNELS = ("web", "ios", "android")

SIGNUPS_SQL = """
    INSERT INTO events_event
        (workspace_id, message_id, type, name, user_id, anonymous_id, group_id, previous_id,
         timestamp, received_at, warnings, properties, traits, context, channel,
         profile_id, origin_profile_id, processed_at)
    SELECT %(ws)s, 'signup-' || p, 'track', 'Signed Up', '', '', '', '',
           ts, ts, '[]', '{}', '{}',
           jsonb_build_object('campaign', jsonb_build_object('source',
               (ARRAY[%(sources)s])[1 + (p %% 4)])),
           (ARRAY[%(channels)s])[1 + (p %% 3)], p, p, ts
    FROM (
        SELECT p, {signup} AS ts FROM generate_series(%(first)s, %(last)s) p
    ) s
"""

EVENTS_SQL = """
    INSERT INTO events_event
        (workspace_id, message_id, type, name, user_id, anonymous_id, group_id, previous_id,
         timestamp, received_at, warnings, properties, traits, context, channel,
         profile_id, origin_profile_id, processed_at)
    SELECT %(ws)s, 'bench-' || g, 'track', name, '', '', '', '',
           ts, ts, '[]',
           CASE WHEN name = 'Order Completed'
                THEN jsonb_build_object('revenue', round((random() * 200)::numeric, 2))
                ELSE '{}'::jsonb END,
           '{}', '{}', channel, s.p, s.p, ts
    FROM (
        SELECT g, p, CASE {names} END AS name, CASE {channels} END AS channel,
               {signup} + (%(as_of)s - {signup}) * random() AS ts
        FROM (
            SELECT g, %(first)s + floor(%(n)s * power(random(), 1.5))::bigint AS p,
                   random() AS draw
            FROM generate_series(1, %(total)s) g
        ) s
    ) s
"""

# A customer's sign-up time, a function of their id, so that their other
# events (drawn after it) need no lookup of the sign-up row.
SIGNUP = "(%(as_of)s - interval '1 minute' * ((p::bigint * 7919) %% 576000))"

MESSAGES_SQL = """
    INSERT INTO messaging_message
        (workspace_id, profile_id, origin_profile_id, channel, category, topic, priority,
         locale, subject, body, html, idempotency_key, source, journey_id, status, address,
         provider_message_id, attempts, error, created_at, updated_at, sent_at,
         delivered_at, opened_at, clicked_at, replied_at)
    SELECT %(ws)s, p, p, channel, 'marketing', '', 0, '', '', '', '', 'bench-' || g,
           CASE WHEN g %% 3 = 0 THEN 'journey' ELSE 'api' END,
           CASE WHEN g %% 3 = 0 THEN 1 + g %% 5 END, 'sent', '', '', 1, '',
           ts, ts, ts,
           CASE WHEN draw < 0.9 THEN ts + interval '1 minute' END,
           CASE WHEN draw < 0.3 THEN ts + interval '1 hour' END,
           CASE WHEN draw < 0.08 THEN ts + interval '2 hours' END,
           CASE WHEN draw < 0.02 AND channel IN ('sms', 'whatsapp')
                THEN ts + interval '3 hours' END
    FROM (
        SELECT g, %(first)s + floor(%(n)s * power(random(), 1.5))::bigint AS p,
               (ARRAY['email', 'sms', 'whatsapp', 'webpush'])[1 + (g %% 4)] AS channel,
               %(as_of)s - interval '1 day' * (365 * random()) AS ts, random() AS draw
        FROM generate_series(1, %(total)s) g
    ) s
"""

BASELINE_SQL = """
    SELECT COUNT(*) FROM (
        SELECT profile_id, COUNT(*), MIN(timestamp), MAX(timestamp)
        FROM events_event WHERE workspace_id = %s AND profile_id IS NOT NULL
        GROUP BY profile_id
    ) s
"""


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE events_event, profiles_profile, messaging_message,"
            " metrics_rollup, metrics_rollupcoverage CASCADE"
        )


def generate(workspace_id: int, customers: int, events: int, seed: float) -> int:
    from django.db import connection, transaction

    names = " ".join(f"WHEN draw < {bound} THEN '{name}'" for bound, name, _ in MIX)
    channels = " ".join(f"WHEN draw < {bound} THEN '{channel}'" for bound, _, channel in MIX)
    quoted = ", ".join
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(PROFILES_SQL, [workspace_id, customers])
        cursor.execute(
            "SELECT MIN(id), MAX(id) FROM profiles_profile WHERE workspace_id = %s",
            [workspace_id],
        )
        first, last = cursor.fetchone()
        common = {"ws": workspace_id, "first": first, "last": last, "n": customers}
        cursor.execute(
            SIGNUPS_SQL.replace("{signup}", SIGNUP)
            .replace("%(sources)s", quoted(f"'{s}'" for s in SOURCES))
            .replace("%(channels)s", quoted(f"'{c}'" for c in FIRST_CHANNELS)),
            {**common, "as_of": AS_OF},
        )
        cursor.execute(
            EVENTS_SQL.replace("{names}", names)
            .replace("{channels}", channels)
            .replace("{signup}", SIGNUP),
            {**common, "total": max(events - customers, 0), "as_of": AS_OF},
        )
        cursor.execute(MESSAGES_SQL, {**common, "total": events // 10, "as_of": AS_OF})
    with connection.cursor() as cursor:
        for table in ("events_event", "profiles_profile", "messaging_message"):
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("SELECT COUNT(*) FROM events_event WHERE workspace_id = %s", [workspace_id])
        return cursor.fetchone()[0]


def baseline(workspace_id: int) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(BASELINE_SQL, [workspace_id])
        cursor.fetchall()
        return time.perf_counter() - started


def metrics(workspace) -> dict[str, float]:
    from engage.metrics import (
        attribution,
        channels,
        crosschannel,
        journeys,
        purchases,
        retention,
        service,
        value,
    )

    calls = {
        "value": lambda: value.value(workspace, start=START, end=END),
        "retention (month)": lambda: retention.retention(workspace, start=START, end=END),
        "retention (week, purchase)": lambda: retention.retention(
            workspace, start=START, end=END, grain="week", activity="purchase"
        ),
        "dormant (month)": lambda: retention.dormant(workspace, start=START, end=END),
        "purchases": lambda: purchases.purchases(workspace, start=START, end=END),
        "crosschannel": lambda: crosschannel.crosschannel(workspace, start=START, end=END),
        "attribution": lambda: attribution.attribution(workspace, start=START, end=END),
        "journeys": lambda: journeys.journeys(workspace, start=START, end=END),
        "channels": lambda: channels.channels(workspace, start=START, end=END),
        "service": lambda: service.service(workspace, start=START, end=END),
    }
    return {name: timed(call)[0] for name, call in calls.items()}


def shop(bench: str, args):
    """A fresh workspace with the generated shop in it, and the figures the
    report starts with: load, sizes, generation time and the baseline."""
    from engage.workspaces.services import create_workspace

    reset()
    load = os.getloadavg()[0]
    workspace = create_workspace(name=f"bench-{bench}-{os.getpid()}").workspace
    gen_seconds, events = timed(generate, workspace.pk, args.customers, args.events, args.seed)
    base = min(baseline(workspace.pk), baseline(workspace.pk))
    return workspace, {
        "load": load,
        "customers": args.customers,
        "events": events,
        "generate": gen_seconds,
        "baseline": base,
    }


def run(args) -> dict:
    from engage.metrics import attribution, retention
    from engage.metrics.services import roll_up

    workspace, result = shop("metrics", args)
    live = metrics(workspace)
    rollup_seconds, _ = timed(roll_up, workspace, today=TODAY)
    next_day_seconds, _ = timed(roll_up, workspace, today=TODAY + timedelta(days=1))
    read = {
        "attribution (rolled up)": timed(attribution.attribution, workspace, start=START, end=END)[
            0
        ],
        "retention (month, rolled up)": timed(retention.retention, workspace, start=START, end=END)[
            0
        ],
    }
    reset()
    return {
        **result,
        "metrics": {
            **live,
            "rollup task (first run)": rollup_seconds,
            "rollup task (next day)": next_day_seconds,
            **read,
        },
    }


def report_shop(bench: str, result: dict, pg: str) -> float:
    """Print the machine and the generated shop; return the baseline the
    figures that follow are divided by."""
    print(
        f"\n{bench}: PostgreSQL {pg}, {os.cpu_count()} CPUs, "
        f"load average {result['load']:.1f} before the run"
    )
    print(
        f"  {result['customers']:,} customers, {result['events']:,} events "
        f"(generated in {result['generate']:.0f} s)"
    )
    base = result["baseline"]
    print(f"    {'baseline GROUP BY profile_id':<30} {base:8.2f} s")
    return base


def report(result: dict, pg: str) -> None:
    base = report_shop("metrics", result, pg)
    for name, seconds in result["metrics"].items():
        print(f"    {name:<30} {seconds:8.2f} s  {seconds / base:6.2f}x baseline")


def parser(description: str = __doc__.splitlines()[0]) -> argparse.ArgumentParser:
    """The shop's size and seed, which the dashboards benchmark takes too."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--events", type=int, default=20_000_000)
    p.add_argument("--seed", type=float, default=0.42, help="setseed() value, -1 to 1")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    with services() as env:
        setup_django(env)
        report(run(args), server_version(env["DATABASE_URL"]))


if __name__ == "__main__":
    main()
