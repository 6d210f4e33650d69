"""The engine on PostgreSQL with workers side by side: no enrollment is run
twice, a worker killed mid-batch loses nothing and sends nothing twice, and a
sweep that finds nothing due is an index probe."""

import datetime as dt
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django.utils import timezone

from engage.journeys import engine, steps
from engage.journeys.models import Enrollment, Journey, JourneyVersion
from engage.messaging.models import Message, MessageDecision, MessageTemplate
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile
from tests.channels.providers import Receiver
from tests.live_processes import ROOT, process_env
from tests.messaging import conftest as messaging

from .factories import live_journey
from .walking import counts, enroll, ledger

smtp_server = messaging.smtp_server
email_channel = messaging.email_channel


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("workers run side by side on PostgreSQL only")


class HoldingSink(Receiver):
    """A webhook endpoint that, while ``hold`` is set, keeps each request
    waiting until ``release`` is set, like an endpoint slow to answer."""

    def __init__(self):
        self.hold = False
        self.started = threading.Event()
        self.release = threading.Event()
        super().__init__()
        # Two workers make up to 32 calls at once: a backlog of 5 refuses some.
        self.server.socket.listen(64)

    def handle(self, req):
        self.started.set()
        if self.hold:
            self.release.wait(30)
        return super().handle(req)


@pytest.fixture
def sink(settings, monkeypatch, workspace):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    monkeypatch.setenv("ENGAGE_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="webhook",
        settings={"url": "https://hooks.example.com/messages", "signing_secret": "whsec"},
    )
    server = HoldingSink()
    yield server
    server.release.set()
    server.close()


def rerun(timeout: float = 10.0) -> int:
    """``advance`` once the database has noticed the dead worker and released
    its locks (until then the claim skips its rows)."""
    deadline = time.monotonic() + timeout
    while not (claimed := engine.advance()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return claimed


def keys(sink) -> Counter:
    return Counter(request.headers["idempotency-key"] for request in sink.requests)


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_run_each_enrollment_once(workspace, sink):
    ws = workspace.workspace
    definition = {
        "trigger": {"manual": True},
        "start": "call",
        "nodes": {
            "call": {"type": "webhook", "url": sink.url + "/step", "next": "done"},
            "done": {"type": "exit"},
        },
    }
    journey = live_journey(ws, definition)
    now = timezone.now()
    enrollments = enroll(
        journey, Profile.objects.bulk_create([Profile(workspace=ws) for _ in range(120)]), at=now
    )
    claimed: list[int] = []
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait(10)
            while n := engine.advance(now=now, limit=10):
                claimed.append(n)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sum(claimed) == 120
    assert len(sink.requests) == 120 and set(keys(sink).values()) == {1}
    assert all(
        ledger(e) == [("call", "ok", "call"), ("exit", "completed", "done")] for e in enrollments
    )
    assert counts(journey) == {("call", ""): 120, ("call", "next"): 120, ("done", ""): 120}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    workspace, sink, email_channel, smtp_server
):
    ws = workspace.workspace
    MessageTemplate.objects.create(workspace=ws, name="hello", channel="email", body="Hello")
    definition = {
        "trigger": {"manual": True},
        "start": "mail",
        "nodes": {
            "mail": {
                "type": "send",
                "channel": "email",
                "template": "hello",
                "category": "transactional",
                "next": "call",
            },
            "call": {"type": "webhook", "url": sink.url + "/step", "next": "done"},
            "done": {"type": "exit"},
        },
    }
    journey = live_journey(ws, definition)
    profiles = []
    for n in range(3):
        profile = Profile.objects.create(workspace=ws)
        Identity.objects.create(workspace=ws, profile=profile, kind="email", value=f"c{n}@ex.com")
        profiles.append(profile)
    enrollments = enroll(journey, profiles, at=timezone.now())
    sink.hold = True
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from engage.journeys import engine; engine.advance()",
        ],
        cwd=ROOT,
        env=process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # The worker has queued the messages and is in its first call.
        assert sink.started.wait(30), worker.stderr.read1().decode()
        worker.kill()
        worker.wait(10)
    finally:
        worker.kill()
        worker.wait()
    sink.hold = False
    sink.release.set()
    dead_key = sink.requests[0].headers["idempotency-key"]
    # Its batch rolled back whole: the messages it queued are gone with it.
    assert Message.objects.count() == 0
    assert set(Enrollment.objects.values_list("node_id", "visit")) == {("mail", 0)}

    assert rerun() == 3

    assert Message.objects.count() == 3
    assert len(smtp_server.messages) == 3
    assert keys(sink)[dead_key] == 2, "the same key again, for the receiver to drop"
    assert len(keys(sink)) == 3
    for enrollment in enrollments:
        # One row per step, none left by the dead worker; then the send itself.
        assert [row[:2] for row in ledger(enrollment)] == [
            ("send", "queued"),
            ("call", "ok"),
            ("exit", "completed"),
            ("send", "sent"),
        ]
        assert Enrollment.objects.get(pk=enrollment.pk).end_reason == "completed"
    assert MessageDecision.objects.filter(action="call").count() == 3
    assert counts(journey)[("done", "")] == 3


def at_pause(journey, profiles, due, *, entered_at, waiting=False) -> None:
    """An enrollment at ``pause`` for each of ``profiles``, the n-th due at ``due(n)``."""
    version = JourneyVersion.objects.get(journey=journey)
    Enrollment.objects.bulk_create(
        Enrollment(
            workspace=journey.workspace,
            journey=journey,
            version=version,
            profile=profile,
            origin_profile_id=profile.pk,
            node_id="pause",
            waiting=waiting,
            next_run_at=due(n),
            entered_at=entered_at,
        )
        for n, profile in enumerate(profiles)
    )


@pytest.mark.django_db
def test_a_sweep_that_finds_nothing_due_probes_the_partial_index(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, {"start": "pause", "nodes": {}})
    later = timezone.now() + dt.timedelta(days=3)
    profiles = Profile.objects.bulk_create([Profile(workspace=ws) for _ in range(3000)])
    at_pause(journey, profiles, lambda n: later, waiting=True, entered_at=later)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Enrollment._meta.db_table}")
        cursor.execute(f"ANALYZE {Journey._meta.db_table}")

    plan = steps.claimable(timezone.now())[: steps.BATCH_SIZE].explain()

    assert "enrollment_due" in plan, plan
    assert "Seq Scan on journeys_enrollment" not in plan, plan


@pytest.mark.django_db(transaction=True)
def test_a_claim_on_a_table_never_analyzed_reads_the_due_index_in_order(workspace):
    """After a first burst of entries PostgreSQL has no statistics: it took
    every active enrollment of the live journeys and sorted them, so each
    claim grew with the backlog of due customers instead of costing one batch."""
    ws = workspace.workspace
    now = timezone.now()
    profiles = Profile.objects.bulk_create([Profile(workspace=ws) for _ in range(2000)])
    for k in range(5):
        journey = live_journey(ws, {"start": "pause", "nodes": {}}, name=f"journey {k}")
        at_pause(journey, profiles, lambda n: now - dt.timedelta(seconds=n % 7), entered_at=now)
    plans = []

    def explain(execute, sql, params, many, context):
        if "FOR UPDATE" in sql and Enrollment._meta.db_table in sql:
            with connection.connection.cursor() as cursor:  # not through this wrapper
                cursor.execute("EXPLAIN " + sql, params)
                plans.append("\n".join(line for (line,) in cursor.fetchall()))
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(explain):
        claimed = steps._claim(now, steps.BATCH_SIZE)
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_sort")
            assert cursor.fetchone() == ("on",)  # the rest of the batch plans as usual

    (plan,) = plans
    assert "enrollment_due" in plan, plan
    assert "Sort" not in plan, plan
    assert [e.pk for e in claimed] == [
        e.pk for e in sorted(Enrollment.objects.all(), key=lambda e: (e.next_run_at, e.pk))
    ][: steps.BATCH_SIZE]
