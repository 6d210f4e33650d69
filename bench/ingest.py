"""Ingestion benchmark: ``/v1/batch`` and ``/v1/track`` through a real gunicorn.

Phases, all in one run against the same PostgreSQL (``scripts/bench ingest``):

1. ``/v1/batch``: client processes send batches of 100 realistic Segment track
   events (unique messageIds, about 500 bytes each) to gunicorn with 2 workers;
   events/s from the first request to the last answer. Every event is then
   counted in the database.
2. Baseline: the rows those requests stored, same columns, ``COPY``-ed straight
   into the emptied events table (indexes and unique constraint in place),
   one commit per ``--copy-rows`` rows. Ratio = 1 / 2 (target ≥ 30%).
3. ``/v1/track`` with one event per request, beside ``/bench/noop`` (the same
   Django stack answering without doing anything), same clients and gunicorn:
   requests/s and the ratio (target ≥ 600 req/s).

Processing does not run during the benchmark: Celery gets a broker that no
worker consumes, so ingestion only publishes its (debounced) processing
request, as it does in production.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from base64 import b64encode
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import EVENT_NAMES
from bench._pg import free_port, server_version, services, setup_django

ROOT = Path(__file__).resolve().parent.parent


def track_event(rng: random.Random, now: datetime) -> dict:
    """One track call as analytics-python would send it (about 500 bytes as JSON)."""
    product = rng.randrange(1, 50_000)
    return {
        "type": "track",
        "event": rng.choice(EVENT_NAMES),
        "userId": f"user-{rng.randrange(1, 200_000)}",
        "messageId": str(uuid.uuid4()),
        "timestamp": (now - timedelta(seconds=rng.randrange(0, 3600))).isoformat(),
        "properties": {
            "product_id": f"sku-{product}",
            "name": f"Trail running shoe {product}",
            "category": "shoes",
            "price": round(rng.uniform(5, 250), 2),
            "currency": "EUR",
        },
        "context": {
            "library": {"name": "analytics-python", "version": "2.3.4"},
            "ip": f"203.0.113.{rng.randrange(1, 255)}",
            "locale": "fr-FR",
            "page": {"path": f"/p/{product}", "url": f"https://shop.example.com/p/{product}"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        },
    }


def _client(port, path, auth, bodies_spec, barrier, results):
    """One load process: build its request bodies, wait for the others, send them all."""
    kind, count, per_request, seed = bodies_spec
    rng = random.Random(seed)
    now = datetime.now(UTC)
    bodies = []
    for _ in range(count):
        if kind == "batch":
            payload = {
                "batch": [track_event(rng, now) for _ in range(per_request)],
                "sentAt": now.isoformat(),
            }
        else:
            payload = track_event(rng, now)
        bodies.append(json.dumps(payload).encode())
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    failures, first_failure = 0, None
    barrier.wait()
    for body in bodies:
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            failures += 1
            first_failure = first_failure or f"{response.status} {answer[:300]!r}"
    finished = time.perf_counter()
    conn.close()
    results.put((finished, failures, first_failure, sum(len(b) for b in bodies)))


def load(port, path, auth, *, kind, requests, per_request, clients, seed) -> dict:
    """Send ``requests`` requests from ``clients`` processes; the wall-clock figures."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)
    results = context.Queue()
    shares = [requests // clients + (i < requests % clients) for i in range(clients)]
    processes = [
        context.Process(
            target=_client,
            args=(port, path, auth, (kind, share, per_request, seed * 1000 + i), barrier, results),
        )
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    elapsed = max(finished for finished, *_ in outcomes) - started
    failures = sum(o[1] for o in outcomes)
    if failures:
        first = next(o[2] for o in outcomes if o[2])
        raise SystemExit(f"{failures} of {requests} requests to {path} failed, e.g. {first}")
    return {
        "requests": requests,
        "seconds": elapsed,
        "bytes": sum(o[3] for o in outcomes),
        "per_second": requests / elapsed,
    }


class Gunicorn:
    """engage served by gunicorn on loopback, as in production (2 workers)."""

    def __init__(self, env, *, workers: int, worker_class: str, threads: int):
        self.port = free_port()
        command = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)]
        command += ["--worker-class", worker_class, "--log-level", "warning"]
        if worker_class == "gthread":
            command += ["--threads", str(threads)]
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("POST", "/bench/noop", b"{}")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def copy_baseline(rows_text: list[bytes], columns: str, table: str, chunk: int) -> float:
    """Seconds to COPY ``rows_text`` (COPY text lines) into ``table``, committing per chunk."""
    from django.db import connection

    raw = connection.connection
    started = time.perf_counter()
    with raw.cursor() as cursor:
        for i in range(0, len(rows_text), chunk):
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(b"".join(rows_text[i : i + chunk]))
            raw.commit()
    return time.perf_counter() - started


def stored_rows(columns: str, table: str) -> list[bytes]:
    """The stored rows as COPY text lines, in insertion order."""
    from django.db import connection

    data = bytearray()
    with connection.connection.cursor() as cursor:
        query = f"COPY (SELECT {columns} FROM {table} ORDER BY id) TO STDOUT"
        with cursor.copy(query) as copy:
            for block in copy:
                data += block
    return bytes(data).splitlines(keepends=True)


def reset_events(table: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
        cursor.execute("CHECKPOINT")


def run(env: dict, args) -> dict:
    setup_django(env)
    from django.db import connection, connections

    from engage.events.ingestion.storage import COLUMNS
    from engage.events.models import Event
    from engage.workspaces.services import create_workspace

    new = create_workspace(name="ingestion benchmark")
    new.workspace.rate_limit_per_second = 1_000_000  # measure throughput, not the limiter
    new.workspace.save(update_fields=["rate_limit_per_second"])
    auth = "Basic " + b64encode(f"{new.write_key}:".encode()).decode()
    table = Event._meta.db_table
    columns = ", ".join(["workspace_id", *COLUMNS])
    batches = args.events // args.batch_size
    results = {
        "pg": server_version(env["DATABASE_URL"]),
        "cpus": os.cpu_count(),
        "load": os.getloadavg()[0],
    }

    server = Gunicorn(
        env, workers=args.workers, worker_class=args.worker_class, threads=args.threads
    )
    try:
        connections.close_all()  # the client processes fork from here
        # Warm-up: every worker connects to PostgreSQL and Redis, loads its URLs.
        load(
            server.port,
            "/v1/batch",
            auth,
            kind="batch",
            requests=20,
            per_request=10,
            clients=2,
            seed=1,
        )
        reset_events(table)
        connections.close_all()
        batch = load(
            server.port,
            "/v1/batch",
            auth,
            kind="batch",
            requests=batches,
            per_request=args.batch_size,
            clients=args.clients,
            seed=2,
        )
        stored = Event.objects.count()
        expected = batches * args.batch_size
        if stored != expected:
            raise SystemExit(f"{expected} events acknowledged but {stored} stored")
        batch["events_per_second"] = stored / batch["seconds"]
        batch["bytes_per_event"] = batch["bytes"] / stored
        results["batch"] = batch

        rows = stored_rows(columns, table)
        reset_events(table)
        copy_seconds = copy_baseline(rows, columns, table, args.copy_rows)
        if Event.objects.count() != len(rows):
            raise SystemExit("COPY stored a different number of rows")
        results["copy"] = {
            "rows": len(rows),
            "seconds": copy_seconds,
            "per_second": len(rows) / copy_seconds,
        }
        reset_events(table)
        connection.close()

        results["noop"] = load(
            server.port,
            "/bench/noop",
            auth,
            kind="single",
            requests=args.requests,
            per_request=1,
            clients=args.clients,
            seed=3,
        )
        results["track"] = load(
            server.port,
            "/v1/track",
            auth,
            kind="single",
            requests=args.requests,
            per_request=1,
            clients=args.clients,
            seed=4,
        )
        if Event.objects.count() != args.requests:
            raise SystemExit("/v1/track acknowledged events that were not stored")
    finally:
        server.stop()
    report(results, args)
    return results


def report(results: dict, args) -> None:
    batch, copy = results["batch"], results["copy"]
    noop, track = results["noop"], results["track"]
    print(
        f"\ningestion: PostgreSQL {results['pg']}, {results['cpus']} CPUs, gunicorn "
        f"{args.workers} {args.worker_class} workers, {args.clients} client processes; "
        f"load average {results['load']:.1f} before the run"
    )
    print(
        f"  /v1/batch ({args.batch_size}/request, {batch['bytes_per_event']:.0f} B/event): "
        f"{batch['events_per_second']:>8,.0f} events/s  "
        f"({batch['requests']} requests in {batch['seconds']:.1f} s)"
    )
    print(
        f"  COPY ({args.copy_rows} rows/commit, same rows):      {copy['per_second']:>8,.0f} rows/s"
        f"  ({copy['rows']} rows in {copy['seconds']:.1f} s)"
    )
    ratio = batch["events_per_second"] / copy["per_second"]
    print(f"  ratio /v1/batch : COPY = {ratio:.0%}  (target >= 30%)")
    print(f"  /v1/track (1 event/request):      {track['per_second']:>8,.0f} requests/s")
    print(f"  /bench/noop (same stack, no work): {noop['per_second']:>8,.0f} requests/s")
    print(
        f"  ratio /v1/track : noop = {track['per_second'] / noop['per_second']:.0%}"
        f"  (target /v1/track >= 600 requests/s)"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=200_000, help="events sent through /v1/batch")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--requests", type=int, default=8_000, help="single-event requests")
    p.add_argument("--clients", type=int, default=4, help="load-generating processes")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    # gthread measured faster here (both phases about 2x on the loaded 2-CPU
    # machine): threads overlap the commit waits, and it keeps connections alive.
    p.add_argument("--worker-class", choices=("sync", "gthread"), default="gthread")
    p.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    p.add_argument("--copy-rows", type=int, default=1000, help="rows per COPY and commit")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    with services() as env:
        run(env, args)


if __name__ == "__main__":
    main()
