"""Journeys benchmark: the engine's throughput, ingest-to-send latency, an idle sweep.

1. Throughput. ``--customers`` (100,000) customers enter a journey through
   its segment trigger (the segment's refresh records their entries, the
   journeys' receiver enrolls them) and walk wait 1 day → webhook to a
   loopback sink → exit. A first pass parks them at the wait; then time moves
   a day forward and ``--workers`` processes run ``engine.advance`` until
   nothing is due: enrollments advanced per second per worker (wake, the
   signed webhook call, exit, the ledger and counts), beside the claim-only
   loop over the same rows (claim 500 due rows ``FOR UPDATE SKIP LOCKED``,
   one UPDATE, commit). Then ``--sends`` (5,000) customers through a send
   node: the journey step (``create_messages``) and the delivery to a real
   SMTP server in its own process, beside bare SMTP (Django's ``send_mail``).
2. Latency. gunicorn (2 workers), Redis and two Celery workers; a tracked
   event triggers a journey whose first node sends an email; p50/p95 from
   the ``/v1/track`` 200 to the SMTP server receiving the message, at
   ``--trigger-rate`` (50) triggering events/s on top of ``--ordinary-rate``
   (500) ordinary events/s (as ``/v1/batch`` requests of 50) for
   ``--latency-seconds``.
3. Idle sweep. ``engine.advance`` when nothing is due, among 1,000 and among
   ``--waiting`` (1,000,000) waiting enrollments: milliseconds per sweep
   (median of 200); the partial index on due rows should make both the same.

``--parts`` picks some of them (e.g. ``--parts 3``).
"""

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import sys
import threading
import time
import uuid
from base64 import b64encode
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench._pg import free_port, server_version, services, setup_django

ROOT = Path(__file__).resolve().parent.parent
CLAIM_BATCH = 500
SWEEP_REPEAT = 200


# --- loopback servers, each in its own process ---------------------------------


def _smtp_serve(port, ready, received):
    """An SMTP server that puts (subject, receipt time) of each message on ``received``."""
    from email import message_from_bytes
    from email import policy as email_policy

    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            mail = message_from_bytes(envelope.original_content, policy=email_policy.default)
            received.put((str(mail["Subject"]), time.time()))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    threading.Event().wait()


def _webhook_serve(port, ready, calls):
    class Sink(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with calls.get_lock():
                calls.value += 1
            # One write: headers and body sent apart meet the client's
            # delayed ACK and cost 40 ms a call.
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Sink)
    ready.set()
    server.serve_forever()


class Server:
    """A loopback server in a forked process (no database use there)."""

    def __init__(self, target, *shared):
        context = multiprocessing.get_context("fork")
        self.port = free_port()
        ready = context.Event()
        self.process = context.Process(target=target, args=(self.port, ready, *shared), daemon=True)
        self.process.start()
        if not ready.wait(30):
            raise SystemExit(f"{target.__name__} did not start")

    def stop(self):
        self.process.terminate()
        self.process.join(10)


# --- setup ----------------------------------------------------------------------


def customers(workspace, n: int, *, plan: str) -> list[int]:
    """``n`` customers with an email address each, in two statements."""
    from django.db import connection

    from engage.profiles.models import Identity, Profile

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Profile._meta.db_table} (workspace_id, traits, trait_updated_at,"
            " timezone, locale, created_at)"
            " SELECT %s, jsonb_build_object('plan', %s::text, 'first_name', 'C' || g), '{}',"
            " '', '', now()"
            " FROM generate_series(1, %s) g RETURNING id",
            [workspace.pk, plan, n],
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"INSERT INTO {Identity._meta.db_table} (workspace_id, profile_id, kind, value,"
            " created_at) SELECT %s, id, 'email', 'c' || id || '@example.com', now()"
            " FROM unnest(%s::bigint[]) id",
            [workspace.pk, ids],
        )
    return ids


def live_journey(workspace, name: str, definition: dict):
    from engage.journeys import services as journeys

    journey = journeys.create_journey(workspace=workspace, name=name, definition=definition)
    return journeys.publish(version=journey.versions.get())


def configure(workspace, *, smtp_port: int | None = None, webhook_port: int | None = None):
    from engage.messaging.models import MessageTemplate
    from engage.plugins.services import configure_plugin

    if smtp_port:
        configure_plugin(
            workspace=workspace,
            plugin_id="email",
            settings={
                "from_email": "news@shop.example",
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
            },
        )
        MessageTemplate.objects.create(
            workspace=workspace,
            name="welcome",
            channel="email",
            subject="{{ event.properties.ref | default: traits.first_name }}",
            body="Welcome, {{ traits.first_name }}.",
        )
    if webhook_port:
        configure_plugin(
            workspace=workspace,
            plugin_id="webhook",
            settings={"url": f"http://127.0.0.1:{webhook_port}/", "signing_secret": "bench"},
        )


def counts_of(journey) -> dict[str, int]:
    from django.db.models import Count

    from engage.journeys.models import Enrollment

    rows = Enrollment.objects.filter(journey=journey).values("end_reason").annotate(n=Count("id"))
    return {row["end_reason"] or "active": row["n"] for row in rows}


# --- 1. throughput --------------------------------------------------------------


def _advance_worker(now, barrier, results):
    from django.db import connection

    from engage.journeys import engine

    connection.ensure_connection()
    barrier.wait()
    started, count = time.perf_counter(), 0
    while claimed := engine.advance(now=now, limit=CLAIM_BATCH):
        count += claimed
    results.put((count, time.perf_counter() - started, time.perf_counter()))
    connection.close()


def _claim_worker(now, barrier, results):
    """Claim due rows and push them a thousand years on: the loop alone."""
    from django.db import connection, transaction

    from engage.journeys.models import Enrollment

    table = Enrollment._meta.db_table
    connection.ensure_connection()
    barrier.wait()
    started, count = time.perf_counter(), 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {table} WHERE ended_at IS NULL AND next_run_at <= %s"
                " ORDER BY next_run_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
                [now, CLAIM_BATCH],
            )
            ids = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                f"UPDATE {table} SET next_run_at = next_run_at + interval '1000 years'"
                " WHERE id = ANY(%s)",
                [ids],
            )
        count += len(ids)
        if not ids:
            break
    results.put((count, time.perf_counter() - started, time.perf_counter()))
    connection.close()


def measure(target, now, workers: int) -> dict:
    from django.db import connections

    connections.close_all()  # the workers fork from here
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(now, barrier, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    outcomes = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
    if any(process.exitcode for process in processes):
        raise SystemExit(f"a {target.__name__} process failed")
    done = sum(count for count, _, _ in outcomes)
    seconds = max(finished for _, _, finished in outcomes) - started
    return {
        "count": done,
        "seconds": seconds,
        "per_second": done / seconds,
        "per_worker": [count / spent for count, spent, _ in outcomes],
    }


def enter_by_segment(workspace, n: int, definition: dict):
    """A journey triggered by entering a segment, and ``n`` customers entering it."""
    from django.db import connection

    from engage.profiles.models import Profile
    from engage.segments import membership
    from engage.segments.services import save_segment

    ids = customers(workspace, n, plan="free")
    segment = save_segment(
        workspace=workspace,
        name="pro",
        rules={"trait": {"key": "plan", "op": "equals", "value": "pro"}},
    )
    journey = live_journey(
        workspace, "onboarding", {**definition, "trigger": {"segment": segment.pk, "on": "enter"}}
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE {Profile._meta.db_table} SET traits = traits || \'{{"plan": "pro"}}\''
            " WHERE id = ANY(%s)",
            [ids],
        )
    started = time.perf_counter()
    membership.refresh(segment)
    return journey, time.perf_counter() - started


def throughput(workspace, args, webhook_calls, webhook_port) -> dict:
    from django.db import connection
    from django.utils import timezone

    from engage.journeys.models import Enrollment

    configure(workspace, webhook_port=webhook_port)
    sink = f"http://127.0.0.1:{webhook_port}/"
    table = Enrollment._meta.db_table
    definition = {
        "start": "pause",
        "nodes": {
            "pause": {"type": "wait", "duration": {"days": 1}, "next": "notify"},
            "notify": {
                "type": "webhook",
                "url": sink,
                "next": "done",
            },
            "done": {"type": "exit"},
        },
    }
    journey, entry_seconds = enter_by_segment(workspace, args.customers, definition)
    entered = Enrollment.objects.filter(journey=journey).count()
    if entered != args.customers:
        raise SystemExit(f"{entered} of {args.customers} customers entered the journey")
    now = timezone.now()
    park = measure(_advance_worker, now, args.workers)
    later = now + timedelta(days=1, minutes=1)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    claim = measure(_claim_worker, later, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_run_at = next_run_at - interval"
            " '1000 years' WHERE journey_id = %s AND ended_at IS NULL",
            [journey.pk],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")
    calls_before = webhook_calls.value
    walk = measure(_advance_worker, later, args.workers)
    outcome = counts_of(journey)
    if outcome != {"completed": args.customers}:
        raise SystemExit(f"not every customer completed the journey: {outcome}")
    if webhook_calls.value - calls_before != args.customers:
        raise SystemExit(f"the sink got {webhook_calls.value - calls_before} webhook calls")
    return {"entry_seconds": entry_seconds, "park": park, "claim": claim, "walk": walk}


def sends(workspace, args, smtp_port, received) -> dict:
    from django.core.mail import get_connection, send_mail
    from django.utils import timezone

    from engage.journeys import entry
    from engage.messaging import sending
    from engage.messaging.models import Message

    configure(workspace, smtp_port=smtp_port)
    journey = live_journey(
        workspace,
        "welcome",
        {
            "trigger": {"manual": True},
            "start": "hello",
            "nodes": {
                "hello": {
                    "type": "send",
                    "channel": "email",
                    "template": "welcome",
                    "category": "marketing",
                    "next": "done",
                },
                "done": {"type": "exit"},
            },
        },
    )
    ids = customers(workspace, args.sends, plan="free")
    entry.enroll(journey=journey, profile_ids=ids)
    step = measure(_advance_worker, timezone.now(), 1)
    started = time.perf_counter()
    delivered = sending.send_due()
    delivery = time.perf_counter() - started
    sent = Message.objects.filter(journey_id=journey.pk, status=Message.SENT).count()
    if delivered != args.sends or sent != args.sends:
        raise SystemExit(f"{sent} of {args.sends} journey emails were sent")
    started = time.perf_counter()
    smtp = get_connection("django.core.mail.backends.smtp.EmailBackend", port=smtp_port)
    for i in range(args.sends):
        send_mail("Bare", "Hi", "news@shop.example", [f"b{i}@example.com"], connection=smtp)
    bare = time.perf_counter() - started
    for _ in range(2 * args.sends):
        received.get(timeout=60)
    return {"step": step, "delivery": delivery, "bare": bare}


# --- 2. latency -----------------------------------------------------------------


class Client:
    """Paced requests to engage from threads of this process: ``rate`` a second."""

    def __init__(self, port: int, auth: str, path: str, rate: float, bodies, sent):
        self.port, self.auth, self.path, self.rate = port, auth, path, rate
        self.bodies, self.sent = bodies, sent
        self.errors = 0

    def run(self, seconds: float, threads: int) -> None:
        deadline = time.monotonic() + seconds
        interval = threads / self.rate

        def loop(offset: float):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            due = time.monotonic() + offset
            while due < deadline:
                time.sleep(max(due - time.monotonic(), 0))
                ref, body = self.bodies()
                conn.request(
                    "POST",
                    self.path,
                    json.dumps(body),
                    {"Authorization": self.auth, "Content-Type": "application/json"},
                )
                response = conn.getresponse()
                response.read()
                if response.status == 200 and ref:
                    self.sent[ref] = time.time()
                elif response.status != 200:
                    self.errors += 1
                due += interval

        workers = [
            threading.Thread(target=loop, args=(i * interval / threads,)) for i in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()


def celery_workers(env: dict, count: int, log_dir: Path) -> list:
    """``count`` Celery worker processes, each ready to consume when returned."""
    import subprocess

    processes, logs = [], []
    for n in range(count):
        logs.append(log_dir / f"celery-{n}.log")
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"]
        command += ["--loglevel=INFO", "--without-gossip", "--without-mingle"]
        command += ["--without-heartbeat", "-n", f"bench{n}@%h"]
        with logs[-1].open("ab") as out:
            processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            )
    deadline = time.monotonic() + 120
    while not all("ready." in log.read_text() for log in logs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise SystemExit(f"the Celery workers did not start; see {log_dir}")
        time.sleep(0.2)
    return processes


def drain(received, sent: dict[str, float], wait: float) -> dict[str, float]:
    """{subject: receipt time} of the mails of ``sent`` the SMTP server got
    within ``wait`` seconds."""
    arrived: dict[str, float] = {}
    deadline = time.monotonic() + wait
    while len(arrived) < len(sent) and time.monotonic() < deadline:
        try:
            subject, at = received.get(timeout=1)
        except Exception:  # noqa: S112 - queue.Empty: keep waiting until the deadline
            continue
        arrived[subject] = at
    return arrived


def latency(workspace, write_key, args, smtp_port, received) -> dict:
    import tempfile

    from bench.ingest import Gunicorn

    configure(workspace, smtp_port=smtp_port)
    live_journey(
        workspace,
        "signed up",
        {
            "trigger": {"event": "Signed Up"},
            "start": "hello",
            "nodes": {
                "hello": {
                    "type": "send",
                    "channel": "email",
                    "template": "welcome",
                    "category": "transactional",
                    "next": "done",
                },
                "done": {"type": "exit"},
            },
        },
    )
    from config.celery import app

    app.control.purge()  # what part 1 published for workers that were not there
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    auth = "Basic " + b64encode(f"{write_key}:".encode()).decode()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-journeys-"))
    sent: dict[str, float] = {}
    server = Gunicorn(env, workers=2, worker_class="sync", threads=1)
    workers = celery_workers(env, 2, log_dir)
    try:

        def trigger():
            ref = uuid.uuid4().hex
            user = f"user-{ref[:12]}"
            return ref, {
                "userId": user,
                "event": "Signed Up",
                "properties": {"ref": ref},
                "context": {"traits": {"email": f"{user}@example.com"}},
            }

        def ordinary():
            batch = [
                {
                    "type": "track",
                    "userId": f"regular-{uuid.uuid4().hex[:8]}",
                    "event": "Product Viewed",
                    "properties": {"sku": "A-1"},
                }
                for _ in range(50)
            ]
            return None, {"batch": batch}

        # Warm-up, not measured: every process loads what it lazily loads.
        warm: dict[str, float] = {}
        Client(server.port, auth, "/v1/track", 4, trigger, warm).run(3, 2)
        drain(received, warm, 60)
        triggers = Client(server.port, auth, "/v1/track", args.trigger_rate, trigger, sent)
        load = Client(server.port, auth, "/v1/batch", args.ordinary_rate / 50, ordinary, sent)
        background = threading.Thread(target=load.run, args=(args.latency_seconds, 2))
        if args.ordinary_rate:
            background.start()
        triggers.run(args.latency_seconds, 4)
        if args.ordinary_rate:
            background.join()
        arrived = drain(received, sent, 120)
    finally:
        server.stop()
        for worker in workers:
            worker.terminate()
            worker.wait(30)
    shutil.rmtree(log_dir)  # kept only when the workers failed to start
    # In the order they were sent: a median that grows from the first third
    # of the run to the last says the pipeline fell behind the offered rate.
    in_order = [
        arrived[ref] - at
        for ref, at in sorted(sent.items(), key=lambda item: item[1])
        if ref in arrived
    ]
    delays = sorted(in_order)
    third = max(len(in_order) // 3, 1)
    return {
        "triggers": len(sent),
        "arrived": len(delays),
        "errors": triggers.errors + load.errors,
        "p50": statistics.median(delays) if delays else None,
        "p95": delays[int(len(delays) * 0.95) - 1] if delays else None,
        "max": delays[-1] if delays else None,
        "first": statistics.median(in_order[:third]) if delays else None,
        "last": statistics.median(in_order[-third:]) if delays else None,
    }


# --- 3. idle sweep --------------------------------------------------------------


def waiting(workspace, total: int, journeys: list, profile_ids: list[int]) -> None:
    """Add waiting enrollments (due in 1 to 30 days) until there are ``total``."""
    from django.db import connection

    from engage.journeys.models import Enrollment

    table = Enrollment._meta.db_table
    have = Enrollment.objects.filter(ended_at__isnull=True).count()
    per_journey = len(profile_ids)
    with connection.cursor() as cursor:
        for journey in journeys:
            if have >= total:
                break
            n = min(per_journey, total - have)
            cursor.execute(
                f"INSERT INTO {table} (workspace_id, journey_id, version_id,"
                " profile_id, origin_profile_id, node_id, visit, waiting, next_run_at,"
                " waiting_for, state, entered_at, end_reason)"
                " SELECT %s, %s, %s, p, p, 'pause', 1, true,"
                " now() + interval '1 day' + (random() * interval '29 days'), '', '{}', now(), ''"
                " FROM unnest(%s::bigint[]) p"
                f" WHERE NOT EXISTS (SELECT 1 FROM {table} e"
                "  WHERE e.journey_id = %s AND e.profile_id = p AND e.ended_at IS NULL)",
                [workspace.pk, journey.pk, journey.live_version_id, profile_ids[:n], journey.pk],
            )
            have += cursor.rowcount
        cursor.execute(f"VACUUM ANALYZE {Enrollment._meta.db_table}")


def sweep_ms() -> float:
    from django.utils import timezone

    from engage.journeys import engine

    for _ in range(20):  # warm the cache and the plan
        engine.advance(now=timezone.now())
    times = []
    for _ in range(SWEEP_REPEAT):
        started = time.perf_counter()
        assert engine.advance(now=timezone.now()) == 0
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def idle_sweep(workspace, args) -> dict:
    per_journey = 10_000
    ids = customers(workspace, per_journey, plan="free")
    definition = {
        "trigger": {"manual": True},
        "start": "pause",
        "nodes": {"pause": {"type": "wait", "duration": {"days": 30}}},
    }
    count = max(-(-args.waiting // per_journey), 1)
    journeys = [live_journey(workspace, f"idle {i}", definition) for i in range(count)]
    waiting(workspace, 1_000, journeys, ids)
    small = sweep_ms()
    waiting(workspace, args.waiting, journeys, ids)
    large = sweep_ms()
    return {"small": small, "large": large}


# --- the run --------------------------------------------------------------------


def report(results: dict, args) -> None:
    print(
        f"\njourneys: PostgreSQL {results['pg']}, {results['cpus']} CPUs, load average "
        f"{results['load']:.1f} before the run"
    )
    if "throughput" in results:
        t = results["throughput"]
        claim, walk, park = t["claim"], t["walk"], t["park"]
        per_worker = ", ".join(f"{rate:,.0f}" for rate in walk["per_worker"])
        print(
            f"  {args.customers:,} customers entered by a segment trigger in "
            f"{t['entry_seconds']:.1f} s (refresh, entries, enrollments)"
        )
        print(
            f"  baseline, claim + UPDATE only (1 process):    {claim['per_second']:>9,.0f} "
            f"enrollments/s ({claim['seconds']:.1f} s)"
        )
        print(
            f"  arrive and park at the wait, {args.workers} worker(s):   "
            f"{park['per_second']:>9,.0f} enrollments/s ({park['seconds']:.1f} s)"
        )
        print(
            f"  wake → webhook → exit, {args.workers} worker(s):         "
            f"{walk['per_second']:>9,.0f} enrollments/s ({walk['seconds']:.1f} s; per worker "
            f"{per_worker}); per worker : baseline = "
            f"{statistics.mean(walk['per_worker']) / claim['per_second']:.1%}"
        )
    if "sends" in results:
        s = results["sends"]
        step = s["step"]
        n = args.sends
        total = step["seconds"] + s["delivery"]
        print(
            f"  {n:,} customers through a send node: step (create_messages) "
            f"{step['per_second']:,.0f}/s, delivery over SMTP {n / s['delivery']:,.0f}/s, "
            f"together {n / total:,.0f}/s; bare send_mail {n / s['bare']:,.0f}/s "
            f"(together : bare = {s['bare'] / total:.2f})"
        )
    if "latency" in results:
        lat = results["latency"]
        if lat["p50"] is None:
            print(f"  latency: none of {lat['triggers']} triggering events reached SMTP")
        else:
            print(
                f"  /v1/track 200 → SMTP, {args.trigger_rate}/s triggering + "
                f"{args.ordinary_rate}/s ordinary: p50 {lat['p50'] * 1000:,.0f} ms, "
                f"p95 {lat['p95'] * 1000:,.0f} ms, max {lat['max'] * 1000:,.0f} ms "
                f"({lat['arrived']} of {lat['triggers']} arrived; {lat['errors']} HTTP errors); "
                f"median of the first third {lat['first'] * 1000:,.0f} ms, of the last "
                f"{lat['last'] * 1000:,.0f} ms"
            )
    if "sweep" in results:
        sw = results["sweep"]
        print(
            f"  sweep with nothing due: {sw['small']:.2f} ms among 1,000 waiting, "
            f"{sw['large']:.2f} ms among {args.waiting:,} ({sw['large'] / sw['small']:.2f}x)"
        )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=100_000, help="customers in part 1")
    p.add_argument("--workers", type=int, default=2, help="engine processes in part 1")
    p.add_argument("--sends", type=int, default=5_000, help="customers through the send node")
    p.add_argument("--trigger-rate", type=float, default=50.0, help="triggering events/s")
    p.add_argument("--ordinary-rate", type=float, default=500.0, help="other events/s")
    p.add_argument("--latency-seconds", type=float, default=30.0, help="length of part 2")
    p.add_argument("--waiting", type=int, default=1_000_000, help="waiting enrollments, part 3")
    p.add_argument("--parts", default="1,2,3", help="which parts to run (comma-separated)")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    parts = set(args.parts.split(","))
    with services() as env:
        setup_django(env)
        from engage.plugins.manager import channels
        from engage.workspaces.services import create_workspace

        channels()  # load the plugins before any timing
        results = {
            "pg": server_version(env["DATABASE_URL"]),
            "cpus": os.cpu_count(),
            "load": os.getloadavg()[0],
        }
        context = multiprocessing.get_context("fork")
        received = context.Queue()
        calls = context.Value("l", 0)
        smtp = Server(_smtp_serve, received)
        sink = Server(_webhook_serve, calls)
        try:
            if "1" in parts:
                workspace = create_workspace(name="journeys throughput").workspace
                results["throughput"] = throughput(workspace, args, calls, sink.port)
                workspace = create_workspace(name="journeys sends").workspace
                results["sends"] = sends(workspace, args, smtp.port, received)
            if "2" in parts:
                new = create_workspace(name="journeys latency")
                new.workspace.rate_limit_per_second = 1_000_000
                new.workspace.save(update_fields=["rate_limit_per_second"])
                results["latency"] = latency(
                    new.workspace, new.write_key, args, smtp.port, received
                )
            if "3" in parts:
                workspace = create_workspace(name="journeys sweep").workspace
                results["sweep"] = idle_sweep(workspace, args)
        finally:
            smtp.stop()
            sink.stop()
        report(results, args)


if __name__ == "__main__":
    socket.setdefaulttimeout(60)
    main()
