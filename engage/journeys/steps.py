"""Running due journey steps: moves enrollments through their version's graph.

All state is in the database. An enrollment is due when its ``next_run_at``
has come (it just entered, an event woke it, or its wait ended); a worker
claims due enrollments in batches (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never take the same one), runs each node type
once for all the enrollments standing at that node, and writes what they did
(enrollments, ledger rows, per-node counts) in the claim's transaction. A
worker that dies mid-batch rolls the batch back whole, and the next claim
runs it again; a step that reaches outside (a send) is keyed by
``StepBatch.idempotency_key``, the same on that re-run, so it happens once.

Nothing waits in the broker: after a commit made something due,
``engine.kick`` runs the first steps in the worker that made them due (or
asks a worker to, from a web request or for a large entry), and beat runs
``advance`` every few seconds, which also picks up what an outage or a lost
publish left behind.

A batch never waits for a customer's row (``locks`` says why): it
share-locks its customers' rows at once, skipping those another
transaction holds, and puts their enrollments back, untouched, to be
claimed ``HELD_RETRY`` later; ``update_traits`` does the same.
"""

import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from engage import json_rows
from engage.bulk import update_rows
from engage.messaging.models import Message, MessageDecision
from engage.segments.membership import evaluate

from . import graph
from .ledger import JourneyLedger
from .locks import hold_customers
from .models import Enrollment, Journey, JourneyVersion, NodeCount
from .nodes import NODE_TYPES

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# How long one run of the task keeps claiming batches; beat starts the next.
TIME_BUDGET_SECONDS = 10.0
# The most nodes one enrollment passes in one batch. Validation refuses a
# cycle without a wait; this keeps a batch's transaction short whatever the
# graph, the rest of the walk going on in the next batch.
MAX_STEPS_PER_BATCH = 50
# How soon an enrollment whose customer another transaction held is claimed again.
HELD_RETRY = timedelta(seconds=1)

# What a claim reads of an enrollment: all of it, for the nodes.
CLAIMED = [field.attname for field in Enrollment._meta.concrete_fields]
# What a step changes on an enrollment.
ENROLLMENT_FIELDS = [
    "node_id",
    "visit",
    "waiting",
    "next_run_at",
    "waiting_for",
    "wake_event_id",
    "state",
    "ended_at",
    "end_reason",
]


class StepBatch:
    """The enrollments of one version standing at one node, handed to the
    node type's ``run``; each must leave through ``go``, ``wait`` or ``end``."""

    def __init__(self, run: "_Run", version: JourneyVersion, node_id: str, enrollments):
        self._run = run
        self.version = version
        self.journey = version.journey
        self.workspace = self.journey.workspace
        self.node_id = node_id
        self.node = version.definition["nodes"][node_id]
        self.enrollments = enrollments
        self.now = run.now
        self._done: set[int] = set()

    def woken(self, enrollment: Enrollment) -> bool:
        """Whether the enrollment was parked here (a wake), not arriving."""
        return enrollment.pk in self._run.woken

    def idempotency_key(self, enrollment: Enrollment) -> str:
        return (
            f"journey:{self.journey.pk}:{self.version.number}:{self.node_id}"
            f":{enrollment.pk}:{enrollment.visit}"
        )

    def ledger(
        self,
        enrollment: Enrollment,
        action: str,
        reason: str,
        *,
        detail: str = "",
        channel: str = "",
        message: Message | None = None,
        until: datetime | None = None,
    ) -> None:
        self._run.ledger(
            enrollment,
            self.version,
            self.node_id,
            action,
            reason,
            detail=detail,
            channel=channel,
            message=message,
            until=until,
        )

    def go(
        self,
        enrollment: Enrollment,
        outcome: str = graph.NEXT,
        *,
        action: str | None = None,
        reason: str = "",
        detail: str = "",
        channel: str = "",
        message: Message | None = None,
    ) -> None:
        """Leave by ``outcome``: on to its node, or completed when it has none."""
        self._leave(enrollment)
        if action:
            self.ledger(enrollment, action, reason, detail=detail, channel=channel, message=message)
        self._run.count(self.version, self.node_id, outcome)
        target = graph.edges(self.node).get(outcome)
        if target is None:
            self._run.end(enrollment, self.version, self.node_id, Enrollment.COMPLETED)
            return
        enrollment.node_id = target
        enrollment.visit += 1
        enrollment.waiting = False
        enrollment.next_run_at = self.now
        enrollment.waiting_for = ""
        enrollment.wake_event_id = None
        self._run.arrive(enrollment, self.version)

    def wait(
        self,
        enrollment: Enrollment,
        until: datetime,
        *,
        event: str = "",
        reason: str = "",
        detail: str = "",
    ) -> None:
        """Park here until ``until``, or until ``event`` wakes it earlier."""
        self._leave(enrollment)
        enrollment.waiting = True
        enrollment.next_run_at = until
        enrollment.waiting_for = event
        enrollment.wake_event_id = None
        self.ledger(enrollment, MessageDecision.WAIT, reason, detail=detail, until=until)

    def end(self, enrollment: Enrollment, reason: str, *, detail: str = "") -> None:
        self._leave(enrollment)
        self._run.end(enrollment, self.version, self.node_id, reason, detail=detail)

    def _leave(self, enrollment: Enrollment) -> None:
        if enrollment.pk in self._done:
            raise RuntimeError(f"node {self.node_id} moved enrollment {enrollment.pk} twice")
        self._done.add(enrollment.pk)
        self._run.woken.discard(enrollment.pk)

    def put_back(self, enrollment: Enrollment) -> None:
        """Leave the enrollment at this node, not yet run, due again ``HELD_RETRY``
        later (its customer is held by another transaction): no ledger row,
        and the arrival is counted when it runs."""
        self._leave(enrollment)
        self._run.count(self.version, self.node_id, "", -1)
        enrollment.next_run_at = self.now + HELD_RETRY

    def unhandled(self) -> list[Enrollment]:
        return [e for e in self.enrollments if e.pk not in self._done]


class _Run:
    """One batch's work: the walk, then one write per table."""

    def __init__(self, now: datetime, decisions: JourneyLedger | None = None):
        self.now = now
        self.decisions = JourneyLedger() if decisions is None else decisions
        self.counts: dict[tuple[int, str, str], int] = defaultdict(int)
        # (version id, node id) -> enrollments arriving there in this batch.
        self.arrivals: dict[tuple[int, str], list[Enrollment]] = defaultdict(list)
        self.steps: dict[int, int] = defaultdict(int)
        # Enrollments parked at the node they stand at, until they leave it.
        self.woken: set[int] = set()

    def ledger(
        self,
        enrollment,
        version,
        node_id,
        action,
        reason,
        *,
        detail: str = "",
        channel: str = "",
        message: Message | None = None,
        until: datetime | None = None,
    ) -> None:
        self.decisions.add(
            enrollment,
            version_number=version.number,
            node_id=node_id,
            action=action,
            reason=reason,
            detail=detail,
            channel=channel,
            message_id=message.pk if message is not None else None,
            until=until,
        )

    def count(self, version, node_id: str, edge: str, n: int = 1) -> None:
        self.counts[(version.pk, node_id, edge)] += n

    def arrive(self, enrollment: Enrollment, version: JourneyVersion) -> None:
        self.arrivals[(version.pk, enrollment.node_id)].append(enrollment)

    def end(self, enrollment, version, node_id: str, reason: str, *, detail: str = "") -> None:
        enrollment.ended_at = self.now
        enrollment.end_reason = reason
        enrollment.waiting = False
        enrollment.next_run_at = None
        enrollment.waiting_for = ""
        self.ledger(enrollment, version, node_id, MessageDecision.EXIT, reason, detail=detail)

    def write(self) -> None:
        """The ledger rows and node counts, one statement each."""
        # From columns, as entry writes its rows: ``bulk_create`` of model
        # instances was 70 of the 155 ms a batch of 475 entries took to park.
        self.decisions.write()
        _add_counts(self.counts)


def advance(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> int:
    """Claim up to ``limit`` due enrollments of live journeys and run their
    steps, in one transaction; returns how many were claimed."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = _claim(now, limit)
        if not claimed:
            return 0
        held = hold_customers({e.profile_id for e in claimed}, skip_locked=True)
        for enrollment in claimed:
            if enrollment.profile_id not in held:
                enrollment.next_run_at = now + HELD_RETRY
        run = _Run(now)
        versions = JourneyVersion.objects.select_related("journey__workspace").in_bulk(
            {e.version_id for e in claimed}
        )
        going = _exit_on_condition(run, [e for e in claimed if e.profile_id in held], versions)
        for enrollment in going:
            version = versions[enrollment.version_id]
            if enrollment.waiting:
                reason = "timeout" if enrollment.wake_event_id is None else "event"
                detail = "" if enrollment.wake_event_id is None else str(enrollment.wake_event_id)
                run.ledger(
                    enrollment,
                    version,
                    enrollment.node_id,
                    MessageDecision.WAKE,
                    reason,
                    detail=detail,
                )
                run.woken.add(enrollment.pk)
            run.arrivals[(version.pk, enrollment.node_id)].append(enrollment)
        _walk(run, versions)
        _write(run, claimed)
    return len(claimed)


def advance_due(*, budget_seconds: float = TIME_BUDGET_SECONDS, limit: int = BATCH_SIZE) -> int:
    """Run batches until nothing is due or the time budget is spent; returns
    how many enrollments were claimed in all."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        claimed = advance(limit=limit)
        total += claimed
        if claimed < limit or time.monotonic() >= deadline:
            return total


def claimable(now: datetime) -> QuerySet:
    """The due enrollments of live journeys, longest due first, to be locked
    (skipping those another worker holds). Read through the partial index on
    due rows, so a sweep that finds nothing costs an index probe however many
    customers are waiting."""
    return (
        Enrollment.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(ended_at__isnull=True, next_run_at__lte=now, journey__status=Journey.LIVE)
        .order_by("next_run_at", "id")
    )


def _claim(now: datetime, limit: int) -> list[Enrollment]:
    due = claimable(now)[:limit]
    if connection.vendor != "postgresql":
        return list(due)
    with connection.cursor() as cursor:
        # Read in the due index's order, never sorted: on a table not yet
        # analyzed (a first burst of entries) PostgreSQL took every active
        # enrollment of the live journeys and sorted them, 100-200 ms a
        # claim with 60,000 due, so the engine fell further behind.
        cursor.execute("SET LOCAL enable_sort = off")
        # Without the ORM's instances (``engage.json_rows``): a batch claims
        # hundreds, and each cost 20 µs through it, times parsed by Django's loader.
        claimed = json_rows.load_queryset(due, CLAIMED)
        cursor.execute("RESET enable_sort")
    return claimed


def _exit_on_condition(run: _Run, claimed: list[Enrollment], versions) -> list[Enrollment]:
    """End the enrollments matching their version's ``exit.when`` (one query
    per version in the batch); returns the others."""
    by_version: dict[int, list[Enrollment]] = defaultdict(list)
    for enrollment in claimed:
        by_version[enrollment.version_id].append(enrollment)
    going = []
    for version_id, enrollments in by_version.items():
        version = versions[version_id]
        when = (version.definition.get("exit") or {}).get("when")
        matching = set()
        if when:
            matching = evaluate(
                when,
                workspace_id=version.journey.workspace_id,
                now=run.now,
                profile_ids=[e.profile_id for e in enrollments],
            )
        for enrollment in enrollments:
            if enrollment.profile_id in matching:
                run.end(enrollment, version, enrollment.node_id, Enrollment.EXITED_CONDITION)
            else:
                going.append(enrollment)
    return going


def start(
    enrollments: list[Enrollment],
    versions: dict[int, JourneyVersion],
    now: datetime,
    decisions: JourneyLedger,
) -> _Run:
    """Walk enrollments entering now, before entry writes them, as far as
    node types that only read and park take them (``AT_ENTRY``); the others
    stay due at the node they reached, for the engine. Returns the run,
    whose ledger rows (after ``decisions``) and counts entry writes with them.

    A journey that begins with a wait is then parked by the entry's own
    insert: no claim, no second transaction, no update (the pipeline
    benchmark's engine spent a claim, an update of every index and a commit
    on each of 2,400 entries a second).
    """
    run = _Run(now, decisions)
    for enrollment in _exit_on_condition(run, enrollments, versions):
        run.arrive(enrollment, versions[enrollment.version_id])
    _walk(run, versions, at_entry=True)
    return run


def _walk(run: _Run, versions: dict[int, JourneyVersion], *, at_entry: bool = False) -> None:
    """Run every node that has enrollments standing at it, and again for
    those arriving at the next node, until each has parked or ended (at
    entry, or reached a node that does not run there)."""
    while run.arrivals:
        (version_id, node_id), enrollments = run.arrivals.popitem()
        version = versions[version_id]
        if at_entry and not getattr(_node_type(version, node_id), "AT_ENTRY", False):
            continue  # due now at this node
        ready = []
        for enrollment in enrollments:
            run.steps[enrollment.pk] += 1
            if run.steps[enrollment.pk] > MAX_STEPS_PER_BATCH:
                continue  # due now, it goes on in the next batch
            ready.append(enrollment)
            if enrollment.pk not in run.woken:
                run.count(version, node_id, "")
        if ready:
            _run_node(run, version, node_id, ready)


def _node_type(version, node_id: str):
    node = version.definition["nodes"].get(node_id)
    return NODE_TYPES.get(node.get("type")) if isinstance(node, dict) else None


def _run_node(run: _Run, version, node_id: str, enrollments) -> None:
    node_type = _node_type(version, node_id)
    if node_type is None:
        # Published versions are validated; this is a version written around
        # the services, and its customers should not come back every sweep.
        logger.error("journey version %s has no runnable node %r", version.pk, node_id)
        for enrollment in enrollments:
            run.end(enrollment, version, node_id, Enrollment.COMPLETED, detail="no such node")
        return
    batch = StepBatch(run, version, node_id, enrollments)
    node_type.run(batch)
    for enrollment in batch.unhandled():
        logger.error("node type %s left enrollment %s unhandled", node_type.TYPE, enrollment.pk)
        run.end(enrollment, version, node_id, Enrollment.COMPLETED, detail="node left it")


def _write(run: _Run, claimed: list[Enrollment]) -> None:
    # One statement (Django's bulk_update took 4 of a 500-row batch's 4.4 s).
    update_rows(Enrollment, claimed, ENROLLMENT_FIELDS)
    run.write()


def _add_counts(counts: dict[tuple[int, str, str], int]) -> None:
    """Add to the per-node counters in one upsert, in key order so that two
    workers adding to the same counters cannot deadlock.

    Every worker's entries and steps add to the same few rows, each waiting
    for the last to commit. On PostgreSQL the references this transaction
    wrote (each enrollment's and ledger row's customer, journey, version)
    are checked just before, instead of at commit (Django's
    ``check_constraints``, as ``loaddata`` does): that is most of the
    commit's work, now done before the counters are held, not while."""
    if not counts:
        return
    rows = sorted(counts.items())
    table = connection.ops.quote_name(NodeCount._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params = [value for key, n in rows for value in (*key, n)]
    if connection.vendor == "postgresql":
        connection.check_constraints()  # the deferred checks, run now
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (version_id, node_id, edge, count) VALUES {values}"  # noqa: S608 - the table name is the model's, values are params
            " ON CONFLICT (version_id, node_id, edge)"
            f" DO UPDATE SET count = {table}.count + excluded.count",
            params,
        )
