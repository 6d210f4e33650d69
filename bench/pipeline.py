"""Pipeline benchmark: the highest event rate engage keeps up with, end to end.

``scripts/bench pipeline`` runs engage as in production on this machine:
gunicorn (2 gthread workers) takes ``/v1/batch`` requests and asks Celery for
processing; ``--celery-workers`` Celery worker processes (default 2) process
the events, claiming up to ``--processing-batch`` events a transaction
(``ENGAGE_PROCESSING_BATCH``, default 2,000); the workspace holds 20
dynamic segments (``--segments``), re-checked in real time for every
processed event, and 5 live journeys (``--journeys``) entered on
``Order Completed``.
Client processes offer the processing benchmark's customer stream (anonymous
browsing, sign-in, an order, 30% on a second device that merges) as batches
of 100 events, at each rate of ``--rates`` in turn for ``--seconds``.

Each second the backlog (events stored and not yet processed) is read. A rate
is kept up with when the backlog stays flat: over the second half of the
step it grows by less than 5% of the offered rate per second or never holds
more than 2 seconds' worth of events, and it ends below 5 seconds' worth.
After each step the backlog drains before the next one starts, and the delay
of every event from its ``/v1/batch`` answer to its processing
(``processed_at``, taken once its batch holds its identifier locks, shortly
before the batch commits) gives p50 and p95.
The run stops after the first rate that is not kept up with.

The load generator, gunicorn, the Celery workers, PostgreSQL and Redis share
the machine's CPUs: the figures are those of the whole pipeline on one box.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from base64 import b64encode
from pathlib import Path

from bench._pg import server_version, services, setup_django
from bench.ingest import Gunicorn
from bench.processing import generate

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100
# A rate is kept up with when, over the second half of a step, the backlog
# grows by less than this share of the offered rate per second, or never
# holds more than FLAT_SECONDS_CLOSE seconds of offered events (claims of up
# to 500 events make a small backlog jump about)...
FLAT_SLOPE = 0.05
FLAT_SECONDS_CLOSE = 2.0
# ...and ends below this many seconds of offered events.
FLAT_SECONDS_BEHIND = 5.0
DRAIN_TIMEOUT = 300.0


def segment_rules(n: int) -> dict:
    """The rules of the n-th of 20 dynamic segments: traits, events, windows, counts."""
    shapes = [
        {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
        {"event": {"name": "Order Completed", "within_days": 7 + n}},
        {"event": {"name": "Page Viewed", "at_least": 2 + n % 5}},
        {
            "and": [
                {"trait": {"key": "plan", "op": "equals", "value": "free"}},
                {"event": {"name": "Order Completed", "at_least": 1 + n % 3}},
            ]
        },
    ]
    return shapes[n % len(shapes)]


def journey_definition() -> dict:
    return {
        "trigger": {"event": "Order Completed"},
        "entry": {},
        "start": "pause",
        "nodes": {
            "pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
            "done": {"type": "exit"},
        },
    }


def prepare(workspace, *, segments: int, journeys: int) -> None:
    """The workspace's dynamic segments and live event-triggered journeys."""
    from engage.journeys.services import create_journey, publish
    from engage.segments.services import save_segment

    for n in range(segments):
        save_segment(workspace=workspace, name=f"segment {n}", rules=segment_rules(n))
    for n in range(journeys):
        journey = create_journey(
            workspace=workspace, name=f"journey {n}", definition=journey_definition()
        )
        publish(version=journey.versions.get())


def step_messages(step: int, rate: int, seconds: float) -> list[dict]:
    """The customer stream of one step: new customers (ids and emails of their own)."""
    users = max(1, int(rate * seconds / 5.3))
    messages, _ = generate(users, 0.3, seed=step)
    prefix = f"s{step}-"
    for index, message in enumerate(messages):
        message["messageId"] = f"{prefix}{index}"
        if "userId" in message:
            message["userId"] = prefix + message["userId"]
        if "email" in message.get("traits", {}):
            message["traits"] = {**message["traits"], "email": prefix + message["traits"]["email"]}
    return messages[: int(rate * seconds)]


def _client(port, auth, bodies, interval, start_at, results):
    """Send ``bodies`` (index of first event, body) one every ``interval`` seconds from
    ``start_at``; returns when each was answered (wall clock)."""
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    answered, failures = [], 0
    for k, (first, body) in enumerate(bodies):
        delay = start_at + k * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        conn.request("POST", "/v1/batch", body, headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            failures += 1
            continue
        answered.append((first, time.time()))
    conn.close()
    results.put((answered, failures))


def backlog() -> int:
    from engage.events.models import Event

    return Event.objects.filter(processed_at__isnull=True).count()


def slope(samples: list[tuple[float, int]]) -> float:
    """Least-squares growth of the backlog, events per second."""
    if len(samples) < 2:
        return 0.0
    return statistics.linear_regression([t for t, _ in samples], [b for _, b in samples]).slope


def run_step(port, auth, step: int, rate: int, args) -> dict:
    messages = step_messages(step, rate, args.seconds)
    requests = [
        (i, json.dumps({"batch": messages[i : i + BATCH]}).encode())
        for i in range(0, len(messages), BATCH)
    ]
    clients = args.clients
    interval = BATCH * clients / rate
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 1.0
    processes = [
        context.Process(
            target=_client,
            args=(
                port,
                auth,
                requests[c::clients],
                interval,
                start_at + c * interval / clients,
                results,
            ),
        )
        for c in range(clients)
    ]
    for process in processes:
        process.start()
    samples = []
    while any(process.is_alive() for process in processes) or not samples:
        time.sleep(1.0)
        samples.append((time.time() - start_at, backlog()))
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join()
    sent_seconds = samples[-1][0]
    half = [s for s in samples if s[0] >= sent_seconds / 2]
    growth = slope(half)
    behind = samples[-1][1]
    drained_at = time.time()
    while backlog() and time.time() - drained_at < DRAIN_TIMEOUT:
        time.sleep(0.5)
    answered = {first: at for o in outcomes for first, at in o[0]}
    return {
        "rate": rate,
        "offered": len(messages) / max(sent_seconds, 1e-9),
        "events": len(messages),
        "failures": sum(o[1] for o in outcomes),
        "growth": growth,
        "behind": behind,
        "max_backlog": max(b for _, b in samples),
        "flat": behind < FLAT_SECONDS_BEHIND * rate
        and (growth < FLAT_SLOPE * rate or max(b for _, b in half) < FLAT_SECONDS_CLOSE * rate),
        "drain": time.time() - drained_at,
        "delays": delays(step, answered),
    }


def delays(step: int, answered: dict[int, float]) -> tuple[float, float] | None:
    """p50 and p95 seconds from each event's /v1/batch answer to its processing."""
    from engage.events.models import Event

    rows = Event.objects.filter(
        message_id__startswith=f"s{step}-", processed_at__isnull=False
    ).values_list("message_id", "processed_at")
    found = []
    for message_id, processed_at in rows:
        index = int(message_id.rsplit("-", 1)[1])
        acked = answered.get(index - index % BATCH)
        if acked is not None:
            found.append(processed_at.timestamp() - acked)
    if len(found) < 2:
        return None
    cuts = statistics.quantiles(found, n=20)
    return statistics.median(found), cuts[18]


def warm_up(port, auth) -> None:
    """One small batch through the whole pipeline, so that the workers are ready."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = {"batch": [{"type": "track", "event": "Warm Up", "anonymousId": "warm-up"}]}
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    conn.request("POST", "/v1/batch", json.dumps(body).encode(), headers)
    conn.getresponse().read()
    conn.close()
    deadline = time.monotonic() + 60
    while backlog():
        if time.monotonic() > deadline:
            raise SystemExit("the Celery workers processed nothing within 60 s")
        time.sleep(0.2)


class CeleryWorkers:
    """``count`` Celery worker processes (solo pool), consuming engage's queue,
    each claiming up to ``batch`` events per processing transaction."""

    def __init__(self, count: int, batch: int):
        self.processes = []
        env = {**os.environ, "ENGAGE_PROCESSING_BATCH": str(batch)}
        for n in range(count):
            command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"]
            command += [f"--hostname=pipeline{n}@%h", "--loglevel=WARNING"]
            command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            self.processes.append(subprocess.Popen(command, cwd=ROOT, env=env))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)


def run(env: dict, args) -> list[dict]:
    setup_django(env)
    from django.conf import settings
    from django.db import connections

    from engage.workspaces.services import create_workspace

    args.processing_batch = args.processing_batch or settings.ENGAGE_PROCESSING_BATCH
    created = create_workspace(name="pipeline benchmark")
    prepare(created.workspace, segments=args.segments, journeys=args.journeys)
    auth = "Basic " + b64encode(f"{created.write_key}:".encode()).decode()
    load_before = os.getloadavg()[0]
    connections.close_all()  # the client processes fork from here
    server = Gunicorn(env, workers=2, worker_class="gthread", threads=4)
    workers = CeleryWorkers(args.celery_workers, args.processing_batch)
    steps = []
    try:
        warm_up(server.port, auth)
        for step, rate in enumerate(args.rates):
            result = run_step(server.port, auth, step, rate, args)
            steps.append(result)
            print_step(result)
            if not result["flat"]:
                break
    finally:
        workers.stop()
        server.stop()
    report(steps, args, env, load_before)
    return steps


def print_step(r: dict) -> None:
    delays_text = (
        "n/a" if r["delays"] is None else f"p50 {r['delays'][0]:.2f} s, p95 {r['delays'][1]:.2f} s"
    )
    print(
        f"  {r['rate']:>6,} events/s offered ({r['offered']:,.0f} sent): backlog "
        f"{'flat' if r['flat'] else 'GROWING'} (grows {r['growth']:+,.0f}/s over the second "
        f"half, {r['behind']:,} at the end, at most {r['max_backlog']:,}; drained in "
        f"{r['drain']:.1f} s); delay from the 200 to processing {delays_text}"
        + (f"; {r['failures']} requests failed" if r["failures"] else ""),
        flush=True,
    )


def report(steps: list[dict], args, env: dict, load_before: float) -> None:
    kept = [s for s in steps if s["flat"]]
    best = max((s["rate"] for s in kept), default=None)
    print(
        f"\npipeline: PostgreSQL {server_version(env['DATABASE_URL'])}, {os.cpu_count()} CPUs, "
        f"gunicorn 2 gthread workers, {args.celery_workers} Celery workers claiming up to "
        f"{args.processing_batch:,} events a transaction, "
        f"{args.segments} dynamic segments, {args.journeys} live journeys, "
        f"batches of {BATCH} from {args.clients} clients, "
        f"{args.seconds:.0f} s per rate; load average {load_before:.1f} before the run"
    )
    print(
        "  highest rate with a flat backlog: "
        + ("none of those offered" if best is None else f"{best:,} events/s")
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--rates",
        type=lambda text: [int(r) for r in text.split(",")],
        default=[500, 1000, 2000, 3000, 3500, 4000, 5000, 6000],
        help="events/s offered, in turn, comma-separated",
    )
    p.add_argument("--seconds", type=float, default=60.0, help="seconds per rate")
    p.add_argument("--clients", type=int, default=2, help="client processes sending batches")
    p.add_argument("--celery-workers", type=int, default=2, help="Celery worker processes")
    p.add_argument(
        "--processing-batch",
        type=int,
        help="events a worker claims per processing transaction (default: "
        "ENGAGE_PROCESSING_BATCH's; docs/operations.md says what a larger one costs)",
    )
    p.add_argument("--segments", type=int, default=20, help="dynamic segments in the workspace")
    p.add_argument(
        "--journeys", type=int, default=5, help="live journeys entered on Order Completed"
    )
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    with services() as env:
        run(env, args)


if __name__ == "__main__":
    main()
