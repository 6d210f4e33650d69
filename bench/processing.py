"""Processing benchmark: events/s through identity resolution, 1 and 2 workers.

``scripts/bench processing`` stores the unprocessed identify/track events of
``--users`` customers (5 or 6 each), as a website sends them: anonymous browsing,
then an identify with the user id, the browser's anonymousId and an email,
then logged-in tracking; ``--second-device`` of the customers also browse on
a second device and identify there, which merges that device's profile into
theirs. Then, each time from the same freshly stored events:

1. Baseline: a claim-only loop in one process (``SELECT ... FOR UPDATE SKIP
   LOCKED`` of a batch, ``UPDATE`` marking it processed, commit): what claiming
   alone costs, with no identity resolution.
2. ``engage.events.processing.run()`` in 1 worker process.
3. The same in 2 worker processes side by side.
4. With ``--segments`` or ``--journeys``: the same in 1 worker process with
   that many dynamic segments and live journeys in the workspace (those of
   ``scripts/bench pipeline``), and the tasks processing triggers (segment
   re-checks, journey entries and steps) run inline in the worker, so that
   what a batch costs downstream shows in the same figures.

Each measurement stops after ``--seconds`` (events left over are then
processed untimed). It prints events/s (and per worker) with the ratio to the
baseline, and checks the outcome: every event processed, one profile per
customer, one merge per second device, each customer's events resolved in
their order.

So that how far more cores would carry it can be read off, it also prints
the CPU time per event of the worker processes and of their PostgreSQL
backends (``/proc``, when the server runs on this machine), the share of
``pg_stat_activity`` samples (every 20 ms) in which a worker's backend waited
on a lock, and the SQL statements per batch and per event (BEGIN and COMMIT
aside); an untimed pass over the same customers without second devices gives
the statements of a batch without merges, and so the statements per merge.
"""

import argparse
import multiprocessing
import os
import random
import resource
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench._pg import server_version, services, setup_django

PAGES = ("/", "/pricing", "/docs", "/blog/launch", "/p/trail-shoe", "/cart")


def customer_events(rng: random.Random, n: int, start: datetime, second_device: bool):
    """The events of customer ``n`` as (timestamp, Segment message), in their order."""
    user_id = f"user-{n}"
    email = f"Customer.{n}@Example.com"  # normalized by identity resolution
    devices = [str(uuid.UUID(int=rng.getrandbits(128)))]
    if second_device:
        devices.append(str(uuid.UUID(int=rng.getrandbits(128))))
    at = start + timedelta(seconds=rng.randrange(0, 86_400))
    events = []

    def add(message):
        nonlocal at
        at += timedelta(seconds=rng.randrange(1, 600))
        events.append((at, {**message, "timestamp": at.isoformat()}))

    def page(**ids):
        add(
            {
                "type": "track",
                "event": "Page Viewed",
                "properties": {"path": rng.choice(PAGES)},
                **ids,
            }
        )

    page(anonymousId=devices[0])
    page(anonymousId=devices[0])
    add(
        {
            "type": "identify",
            "userId": user_id,
            "anonymousId": devices[0],
            "traits": {
                "email": email,
                "name": f"Customer {n}",
                "plan": rng.choice(("free", "pro")),
            },
            "context": {"timezone": "Europe/Paris", "locale": "fr-FR"},
        }
    )
    add(
        {
            "type": "track",
            "event": "Order Completed",
            "userId": user_id,
            "anonymousId": devices[0],
            "properties": {"total": round(rng.uniform(5, 300), 2), "currency": "EUR"},
        }
    )
    if second_device:
        page(anonymousId=devices[1])
        add({"type": "identify", "userId": user_id, "anonymousId": devices[1], "traits": {}})
    else:
        page(userId=user_id, anonymousId=devices[0])
    return events


def generate(users: int, second_share: float, seed: int = 7, *, grouped: bool = False):
    """The Segment messages of ``users`` customers in time order, and how many merges.

    ``grouped``: customer after customer instead (a backlog of unrelated
    customers, as after an import or from many sites), so that two workers'
    batches rarely hold events of the same customer.
    """
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    second = set(rng.sample(range(users), int(users * second_share)))
    events = []
    for n in range(users):
        events += customer_events(rng, n, start, n in second)
    if not grouped:
        events.sort(key=lambda item: item[0])
    return [message for _, message in events], len(second)


def store(workspace_id: int, messages: list[dict]) -> None:
    """Store ``messages`` unprocessed, as ingestion does."""
    from engage.events.ingestion.storage import store_events
    from engage.events.ingestion.validation import Batch, validate_message

    batch = Batch(datetime.now(UTC))
    for i in range(0, len(messages), 1000):
        errors = []
        rows = [
            validate_message({**m, "messageId": f"m-{i + j}"}, None, batch, errors, i + j)
            for j, m in enumerate(messages[i : i + 1000])
        ]
        if errors:
            raise SystemExit(f"generated events are invalid: {errors[:3]}")
        store_events(workspace_id=workspace_id, rows=rows)


def reset(workspace_id: int, messages: list[dict]) -> None:
    """Empty every profile and event table, store the events again, VACUUM ANALYZE."""
    from django.db import connection

    from engage.events.models import Event
    from engage.profiles.models import Profile

    with connection.cursor() as cursor:
        # CASCADE reaches every table pointing at profiles or events.
        cursor.execute(f"TRUNCATE {Profile._meta.db_table}, {Event._meta.db_table} CASCADE")
    store(workspace_id, messages)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Event._meta.db_table}")
        cursor.execute("CHECKPOINT")
    connection.close()  # the worker processes fork from here


def claim_only(batch_size: int) -> int:
    """Claim every pending event in batches and mark it processed; no resolution."""
    from django.db import connection, transaction

    from engage.events.models import Event

    table = Event._meta.db_table
    done = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {table} WHERE processed_at IS NULL ORDER BY id "
                "LIMIT %s FOR UPDATE SKIP LOCKED",
                [batch_size],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                cursor.execute(f"UPDATE {table} SET processed_at = now() WHERE id = ANY(%s)", [ids])
        done += len(ids)
        if len(ids) < batch_size:
            return done


class Statements:
    """Counts the SQL statements of each processing batch (a Django execute wrapper),
    and the merges each batch announced."""

    def __init__(self):
        self.batches: list[list[int]] = []  # [statements, merges] per claim

    def __call__(self, execute, sql, params, many, context):
        if "SKIP LOCKED" in sql and "events_event" in sql:
            self.batches.append([0, 0])
        if self.batches:
            self.batches[-1][0] += 1
        return execute(sql, params, many, context)

    def merged(self, sender, *, pairs, **kwargs):
        if self.batches:
            self.batches[-1][1] += len(pairs)


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL backend ``pid``; None when the
    server is not a process of this machine."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker(task, batch_size, budget, barrier, results):
    from django.conf import settings
    from django.db import connection

    from engage.events import processing
    from engage.profiles.signals import profiles_merged

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    statements = Statements()
    profiles_merged.connect(statements.merged, weak=False)
    barrier.wait()
    cpu, pg_cpu = resource.getrusage(resource.RUSAGE_SELF), backend_cpu(backend)
    started = time.perf_counter()
    with connection.execute_wrapper(statements):
        if task == "claim":
            count = claim_only(batch_size)
        elif task == "downstream":
            settings.CELERY_TASK_ALWAYS_EAGER = True
            count = processing.run(batch_size=batch_size, time_budget=budget).processed
        else:
            count = processing.run(batch_size=batch_size, time_budget=budget).processed
    spent = time.perf_counter() - started
    after, pg_after = resource.getrusage(resource.RUSAGE_SELF), backend_cpu(backend)
    results.put(
        {
            "count": count,
            "spent": spent,
            "finished": time.perf_counter(),
            "cpu": after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime,
            "pg_cpu": None if pg_cpu is None else pg_after - pg_cpu,
            "batches": statements.batches,
        }
    )
    connection.close()


def lock_waits(stop: threading.Event, found: dict) -> None:
    """Sample pg_stat_activity every 20 ms until ``stop``: how many samples saw a
    worker's backend in a transaction, and how many saw one waiting on a lock."""
    from django.db import connection

    query = (
        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) "
        "FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND state <> 'idle'"
    )
    with connection.cursor() as cursor:
        while not stop.wait(0.02):
            cursor.execute(query)
            waiting, busy = cursor.fetchone()
            found["samples"] += busy > 0
            found["waiting"] += waiting > 0
    connection.close()


def measure(task: str, workers: int, batch_size: int, budget: float | None = None) -> dict:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(task, batch_size, budget, barrier, results))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    sampled = {"samples": 0, "waiting": 0}
    stop = threading.Event()
    sampler = threading.Thread(target=lock_waits, args=(stop, sampled))
    barrier.wait()
    started = time.perf_counter()
    sampler.start()
    outcomes = [results.get(timeout=1800) for _ in processes]
    stop.set()
    sampler.join()
    for process in processes:
        process.join()
    if any(process.exitcode for process in processes):
        raise SystemExit(f"a {task} worker failed")
    events = sum(o["count"] for o in outcomes)
    seconds = max(o["finished"] for o in outcomes) - started
    batches = [batch for o in outcomes for batch in o["batches"] if batch[0] > 0]
    pg_cpu = [o["pg_cpu"] for o in outcomes]
    return {
        "events": events,
        "seconds": seconds,
        "per_second": events / seconds,
        "per_worker": [o["count"] / o["spent"] for o in outcomes],
        "cpu_per_event": sum(o["cpu"] for o in outcomes) / max(events, 1),
        "pg_cpu_per_event": None if None in pg_cpu else sum(pg_cpu) / max(events, 1),
        "lock_waits": sampled["waiting"] / max(sampled["samples"], 1),
        "samples": sampled["samples"],
        "statements": sum(b[0] for b in batches),
        "batches": len(batches),
        "merges": sum(b[1] for b in batches),
    }


def finish() -> None:
    """Process what a time-capped measurement left, so that the outcome can be checked."""
    from django.db import connection

    from engage.events import processing

    processing.run()
    connection.close()


def check(users: int, second_devices: int, expected_events: int) -> None:
    found = problems(users, second_devices, expected_events)
    if found:
        raise SystemExit("processing went wrong: " + "; ".join(found))


def problems(users: int, second_devices: int, expected_events: int) -> list[str]:
    """What is wrong with the outcome of processing ``generate``'s events (tests use it too).

    A customer's events resolved out of order show in ``resolved_out_of_order``,
    and as a missing merge when a second device's identify was resolved before
    that device's earlier page view (it found no profile of the device's own).
    """
    from engage.events.models import Event
    from engage.profiles.models import Profile, ProfileMerge

    pending = Event.objects.filter(processed_at__isnull=True).count()
    customers = Profile.objects.filter(merged_into__isnull=True).count()
    merges = ProfileMerge.objects.count()
    unattributed = Event.objects.filter(profile__isnull=True).count()
    found = []
    if pending:
        found.append(f"{pending} events left unprocessed")
    if unattributed:
        found.append(f"{unattributed} events without a profile")
    if customers != users:
        found.append(f"{customers} profiles for {users} customers")
    if merges != second_devices:
        found.append(f"{merges} merges for {second_devices} second devices")
    if Event.objects.count() != expected_events:
        found.append("events were lost")
    reordered = resolved_out_of_order()
    if reordered:
        found.append(
            f"{len(reordered)} events resolved before an older one sharing an identifier "
            f"(first: event {reordered[0][1]} before {reordered[0][0]})"
        )
    return found


def resolved_out_of_order() -> list[tuple[int, int]]:
    """Pairs of consecutive events sharing a user or anonymous id, the newer resolved first.

    A batch takes its ``processed_at`` after its identifier locks, so events
    resolved in their order have non-decreasing times along each identifier.
    This sees every reordering, where the merge count only sees a second
    device's identify resolved before its page view.
    """
    from engage.events.models import Event

    last: dict[tuple[str, str], tuple[int, datetime]] = {}
    pairs = []
    rows = (
        Event.objects.filter(processed_at__isnull=False)
        .order_by("pk")
        .values_list("pk", "user_id", "anonymous_id", "processed_at")
    )
    for pk, user_id, anonymous_id, processed_at in rows:
        for key in (("user_id", user_id), ("anonymous_id", anonymous_id)):
            if not key[1]:
                continue
            if key in last and last[key][1] > processed_at:
                pairs.append((last[key][0], pk))
            last[key] = (pk, processed_at)
    return pairs


def run(env: dict, args) -> dict:
    setup_django(env)
    from engage.workspaces.services import create_workspace

    workspace = create_workspace(name="processing benchmark").workspace
    users = args.users
    messages, second_devices = generate(users, args.second_device, grouped=args.grouped)
    results = {
        "pg": server_version(env["DATABASE_URL"]),
        "cpus": os.cpu_count(),
        "load": os.getloadavg()[0],
    }

    reset(workspace.pk, messages)
    results["claim"] = measure("claim", 1, args.batch_size)
    for workers in (1, 2):
        reset(workspace.pk, messages)
        results[f"process{workers}"] = measure("process", workers, args.batch_size, args.seconds)
        finish()
        check(users, second_devices, len(messages))
    # The same customers without second devices: the statements of batches
    # that merge nobody.
    plain, _ = generate(users, 0.0, grouped=args.grouped)
    reset(workspace.pk, plain)
    results["no_merges"] = measure("process", 1, args.batch_size)
    if args.segments or args.journeys:
        from django.conf import settings

        from bench.pipeline import prepare

        reset(workspace.pk, messages)
        # Their first refreshes and steps run here, not through this process's
        # publisher thread: a fork that caught that thread importing the
        # broker's transport left the worker waiting for ever on the import's
        # lock.
        settings.CELERY_TASK_ALWAYS_EAGER = True
        prepare(workspace, segments=args.segments, journeys=args.journeys)
        results["downstream"] = measure("downstream", 1, args.batch_size, args.seconds)
    report(results, args, len(messages), users, second_devices)
    return results


def report(results: dict, args, events: int, users: int, merges: int) -> None:
    claim = results["claim"]
    print(
        f"\nprocessing: PostgreSQL {results['pg']}, {results['cpus']} CPUs, {events} events "
        f"from {users} customers ({merges} merges), batches of {args.batch_size}"
        f"{', grouped by customer' if args.grouped else ', in time order'}; "
        f"load average {results['load']:.1f} before the run"
    )
    print(
        f"  baseline, claim + UPDATE only (1 process): {claim['per_second']:>8,.0f} events/s"
        f"  ({claim['seconds']:.1f} s)"
    )
    for workers in (1, 2):
        figures = results[f"process{workers}"]
        per_worker = ", ".join(f"{rate:,.0f}" for rate in figures["per_worker"])
        print(
            f"  identity resolution, {workers} worker(s):        "
            f"{figures['per_second']:>8,.0f} events/s  ({figures['seconds']:.1f} s; "
            f"per worker {per_worker}); ratio to baseline "
            f"{figures['per_second'] / claim['per_second']:.1%}"
        )
        pg = figures["pg_cpu_per_event"]
        print(
            f"    CPU per event: worker {figures['cpu_per_event'] * 1e6:,.0f} µs, PostgreSQL "
            + ("n/a (remote server)" if pg is None else f"{pg * 1e6:,.0f} µs")
            + f"; lock waits in {figures['lock_waits']:.1%} of {figures['samples']} samples; "
            f"{figures['statements'] / max(figures['events'], 1):.2f} statements per event "
            f"({figures['statements'] / max(figures['batches'], 1):.1f} per batch)"
        )
    merging, plain = results["process1"], results["no_merges"]
    per_batch = merging["statements"] / max(merging["batches"], 1)
    plain_batch = plain["statements"] / max(plain["batches"], 1)
    merges_per_batch = merging["merges"] / max(merging["batches"], 1)
    per_merge = (per_batch - plain_batch) / merges_per_batch if merges_per_batch else 0.0
    print(
        f"  statements per batch: {per_batch:.1f} with {merges_per_batch:.1f} merges, "
        f"{plain_batch:.1f} without (the same customers, no second device; "
        f"{plain['per_second']:,.0f} events/s); so {per_merge:.2f} statements per merge"
    )
    downstream = results.get("downstream")
    if downstream:
        print(
            f"  with {args.segments} segments and {args.journeys} journeys, their tasks inline "
            f"(1 worker): {downstream['per_second']:>8,.0f} events/s  "
            f"({downstream['events']:,} events in {downstream['seconds']:.1f} s); ratio to "
            f"baseline {downstream['per_second'] / claim['per_second']:.1%}\n"
            f"    CPU per event: worker {downstream['cpu_per_event'] * 1e6:,.0f} µs, PostgreSQL "
            + (
                "n/a (remote server)"
                if downstream["pg_cpu_per_event"] is None
                else f"{downstream['pg_cpu_per_event'] * 1e6:,.0f} µs"
            )
            + f"; {downstream['statements'] / max(downstream['events'], 1):.2f} statements "
            f"per event ({downstream['statements'] / max(downstream['batches'], 1):.1f} per batch)"
        )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--users", type=int, default=2_000, help="customers (5 events each, 6 with two devices)"
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=30.0,
        help="time cap per measurement (events left over are processed untimed, then checked)",
    )
    p.add_argument(
        "--second-device", type=float, default=0.3, help="share of customers with two devices"
    )
    p.add_argument("--batch-size", type=int, default=500, help="events claimed per transaction")
    p.add_argument(
        "--segments",
        type=int,
        default=0,
        help="also measure 1 worker with this many dynamic segments, their re-checks inline",
    )
    p.add_argument(
        "--journeys",
        type=int,
        default=0,
        help="also measure 1 worker with this many live journeys, their entries inline",
    )
    p.add_argument(
        "--grouped",
        action="store_true",
        help="store the events customer after customer (unrelated customers), not in time order",
    )
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    with services() as env:
        run(env, args)


if __name__ == "__main__":
    main()
