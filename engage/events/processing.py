"""Event processing: claim unprocessed events in batches and resolve their profiles.

Ingestion only stores events; this is where each one is tied to a customer.
Workers claim the oldest pending events with ``SELECT … FOR UPDATE SKIP
LOCKED`` (on SQLite, a single writer, the lock is a no-op), one transaction per
batch, so any number of workers can run side by side and an event is processed
exactly once: a worker that dies mid-batch rolls its batch back and another
worker claims it again. A claimed event that follows an older one still in
flight with another worker (they share an identifier) is left for a later
claim, so that each customer's events are resolved in their order without
the whole batch waiting for the other worker; so is the tail of a claim whose
identifiers would need more than ``MAX_IDENTIFIER_LOCKS`` locks.

Per batch: the identifiers of every event are extracted and normalized; an
event carrying an erased customer's identifier is deleted (the erasure must
stick); enrichment plugins add their properties (``engage_enrich_event``);
then the whole batch is resolved at once (``resolution.resolve_batch``: a
fixed number of statements whatever the batch's size, each customer's
events applied in their order, merges announced once per batch) and the
events are written with one UPDATE. When anything in a batch fails, the
batch rolls back and is processed again event by event, each in a savepoint
(a batch of one): a savepoint that fails on a deadlock, a serialization
failure or a unique-key race is retried; an event that fails for any other
reason is marked processed with a warning and logged, so that one bad event
cannot block the queue. A batch that finds PostgreSQL's shared lock table
full is claimed again at half the size, for the rest of the run.
"""

import contextlib
import gc
import logging
import time
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils import timezone

from engage.bulk import update_rows
from engage.conflicts import lost_race
from engage.plugins.enrichment import enrich_event
from engage.profiles.identifiers import extract_identifiers
from engage.profiles.locks import ProfilesMoved, lock_identifiers
from engage.profiles.resolution import Resolved, Sighting, resolve_batch
from engage.workspaces.models import Workspace

from . import quarantine, rows, suppression
from .models import Event
from .signals import announce, processed_events, send_events_processed

logger = logging.getLogger(__name__)

# Attempts per event when the database reports a conflict with another worker.
MAX_EVENT_ATTEMPTS = 4
EVENT_FIELDS = ["profile", "origin_profile_id", "processed_at", "warnings"]
# Most identifier locks one batch takes (one per distinct identifier). They
# live in PostgreSQL's shared lock table, 64 per connection by default
# (max_locks_per_transaction x max_connections, plus PostgreSQL's own
# processes: about 7,800): this leaves room for three workers' batches,
# and their journey entries after them (``journeys.locks``). The benchmark's
# stream carries 1,729 distinct identifiers per 2,000 events.
MAX_IDENTIFIER_LOCKS = 2000
# SQLSTATE out_of_memory: what PostgreSQL raises when its lock table is full.
LOCK_TABLE_FULL = "53200"


class AllLeft(Exception):
    """Every claimed event follows an older one that another worker holds."""


class Contention(Exception):
    """An event kept conflicting with other workers; its batch is retried later."""


class LockTableFull(Exception):
    """PostgreSQL's shared lock table could not hold the batch's locks."""


class Batch(NamedTuple):
    claimed: int  # rows the claim locked
    left: int  # of them, left for older events another worker holds
    deferred: int  # of them, past the identifier lock budget


@dataclass
class Outcome:
    processed: int = 0
    dropped: int = 0  # events of erased customers, deleted
    remaining: bool = False  # stopped by the time budget with events still pending


def process_pending(*, time_budget: float | None = None) -> int:
    """Process every pending event; returns how many were processed.

    With ``time_budget`` (seconds), stops after the batch that exceeds it.
    """
    return run(time_budget=time_budget).processed


def run(*, time_budget: float | None = None, batch_size: int | None = None) -> Outcome:
    """Claim and process batches until none remain or the time budget is spent."""
    batch_size = batch_size or settings.ENGAGE_PROCESSING_BATCH
    deadline = None if time_budget is None else time.monotonic() + time_budget
    outcome = Outcome()
    contention = 0
    while True:
        try:
            claimed, left, deferred = process_batch(batch_size=batch_size, outcome=outcome)
        except AllLeft:
            # The worker holding the older events commits within a batch's time.
            time.sleep(0.01)
            claimed, left, deferred = batch_size, batch_size, 0
        except Contention:
            # Our batch rolled back, letting the worker we conflicted with
            # finish; wait a little and claim again.
            contention += 1
            logger.warning("processing batch rolled back after repeated conflicts; retrying")
            time.sleep(min(0.05 * contention, 1.0))
            claimed, left, deferred = batch_size, 0, 0
        except LockTableFull:
            # Other sessions (other workers, a refresh, a broadcast) hold the
            # rest of the table. Fewer events need fewer locks; a batch of one
            # that still cannot get them fails the run (the task runs again).
            if batch_size == 1:
                raise
            batch_size //= 2
            logger.warning(
                "PostgreSQL's lock table is full; claiming %d events per batch for the rest of "
                "this run (raise max_locks_per_transaction: docs/operations.md)",
                batch_size,
            )
            claimed, left, deferred = batch_size, 0, 0
        if claimed < batch_size and not left and not deferred:
            break
        if left:
            # Claiming again at once would find the same events still held
            # back by the other worker's batch and spin on them.
            time.sleep(0.01)
        if deadline is not None and time.monotonic() >= deadline:
            outcome.remaining = Event.objects.filter(processed_at__isnull=True).exists()
            break
    if outcome.dropped:
        logger.info("dropped %d events of erased customers", outcome.dropped)
    return outcome


def process_batch(*, batch_size: int, outcome: Outcome) -> Batch:
    """Claim up to ``batch_size`` events and process them in one transaction.

    Returns how many were claimed, and how many of them were left for a later
    claim (see ``_left_for_older`` and ``_within_lock_budget``). Raises
    LockTableFull when the locks did not fit. ``outcome`` is only updated once the batch
    committed: a batch rolled back on contention is claimed again, and its
    events must not be counted twice.

    A batch is first resolved as a whole, in a fixed number of statements. If
    anything fails, it rolls back whole and is claimed again and resolved
    event by event, each event a batch of one in a savepoint, so that a
    conflict is retried and a bad event is set aside without holding up the
    others.
    """
    with _collector_paused():
        try:
            return _process_batch(batch_size, outcome, careful=False)
        except AllLeft:
            raise
        except Exception as exc:
            # Event by event, the batch would take the same locks again.
            if getattr(exc.__cause__, "sqlstate", None) == LOCK_TABLE_FULL:
                raise LockTableFull from exc
            logger.info("batch failed; processing it again event by event", exc_info=True)
        return _process_batch(batch_size, outcome, careful=True)


@contextlib.contextmanager
def _collector_paused():
    """Keep Python's cyclic garbage collector from running during a batch.

    A batch holds thousands of objects (its events, profiles, identities)
    until it ends. Collections during it promote them to the oldest
    generation, whose growth soon sets off a full collection, which walks
    every object of the Django process: measured, 22-45 µs of the worker's
    CPU per event (of 135-170). Nothing of a batch needs cycles collected
    before it ends, and most of its objects are freed by their reference
    counts when it does, so what is left for the collector afterwards is
    little. A caller that had the collector off keeps it off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _process_batch(batch_size: int, outcome: Outcome, *, careful: bool) -> Batch:
    with transaction.atomic():
        now = timezone.now()
        events, claimed = _claim(batch_size, now=now)
        if not events:
            return Batch(claimed, 0, 0)
        workspaces = Workspace.objects.in_bulk({e.workspace_id for e in events})
        extracted = {
            e.pk: extract_identifiers(event=e, workspace=workspaces[e.workspace_id]) for e in events
        }
        left = _left_for_older(events, extracted, workspaces)
        if len(left) == len(events):
            raise AllLeft
        ready, deferred, pairs = _within_lock_budget(
            [e for e in events if e.pk not in left], extracted
        )
        # Every identifier of the batch, locked up front in one sorted pass, so
        # that two workers whose batches overlap cannot deadlock on them.
        for workspace_id in sorted(pairs):
            lock_identifiers(workspace_id, pairs[workspace_id])
        # Taken again once the locks are held, so that processed_at follows
        # the order in which each customer's events were resolved.
        now = timezone.now()

        kept, dropped = _without_erased(ready, extracted)
        if careful:
            for event in kept:
                _process_with_retries(event, workspaces, extracted, now=now)
        else:
            _process_events(kept, workspaces, extracted, now=now)
        send_events_processed(events, workspaces)
        announce(processed_events(events))
    outcome.processed += len(kept)
    outcome.dropped += dropped
    return Batch(claimed, len(left), deferred)


def _within_lock_budget(events: list[Event], extracted) -> tuple[list[Event], int, dict]:
    """The longest run of ``events`` whose identifiers fit ``MAX_IDENTIFIER_LOCKS``
    (at least its first event); how many events follow it, left for the next
    claim; and its identifiers by workspace.

    Cutting the run short keeps each customer's events in order: whatever
    follows the cut is newer than everything before it.
    """
    pairs: dict[int, set] = {}
    count = 0
    for position, event in enumerate(events):
        new = set(extracted[event.pk].lock_pairs()) - pairs.get(event.workspace_id, set())
        if position and count + len(new) > MAX_IDENTIFIER_LOCKS:
            return events[:position], len(events) - position, pairs
        pairs.setdefault(event.workspace_id, set()).update(new)
        count += len(new)
    return events, 0, pairs


def _without_erased(events: list[Event], extracted) -> tuple[list[Event], int]:
    """Delete the events that carry an erased customer's identifier; the rest, and how
    many were deleted.

    One query per batch when nobody was erased in its workspaces, one more
    per workspace that has erasures, and one per event only when the batch
    does carry an erased identifier.
    """
    erasing = suppression.workspaces_with_suppressions({e.workspace_id for e in events})
    if not erasing:
        return events, 0
    pairs: dict[int, list] = {}
    for event in events:
        if event.workspace_id in erasing:
            pairs.setdefault(event.workspace_id, []).extend(extracted[event.pk].lock_pairs())
    hit = {ws for ws, found in pairs.items() if suppression.suppressed(ws, found)}
    erased = {
        e.pk
        for e in events
        if e.workspace_id in hit
        and suppression.suppressed(e.workspace_id, extracted[e.pk].lock_pairs())
    }
    if erased:
        Event.objects.filter(pk__in=erased).delete()
    return [e for e in events if e.pk not in erased], len(erased)


def _process_events(events: list[Event], workspaces, extracted, *, now) -> None:
    """Enrich, resolve and write ``events`` (claimed, in their order) as one batch."""
    enriched = [e for e in events if enrich_event(event=e, workspace=workspaces[e.workspace_id])]
    resolved = resolve_batch(
        [
            Sighting(
                workspace=workspaces[e.workspace_id],
                extracted=extracted[e.pk],
                event_type=e.type,
                message_id=e.message_id,
                timestamp=e.timestamp,
                traits=e.traits,
                context=e.context,
            )
            for e in events
        ]
    )
    for event, found in zip(events, resolved, strict=True):
        _attribute(event, extracted[event.pk].warnings, found, now=now)
    update_rows(Event, events, EVENT_FIELDS)
    update_rows(Event, enriched, ["properties"])


def _attribute(event: Event, warnings: list[str], found: Resolved, *, now) -> None:
    """Tie ``event`` to the profile it was resolved to, as the batch's merges left it.

    ``origin_profile_id`` keeps the profile it was first resolved to, so a
    split of a merge (in this batch or later) knows which events to hand back.
    """
    warnings = [*warnings, *found.warnings]
    if found.node is None:
        warnings.append("no usable identifier: the event is not attributed to a profile")
        event.profile_id = event.origin_profile_id = None
    else:
        event.profile_id = found.canonical.pk
        event.origin_profile_id = found.profile_id
    event.warnings = [*event.warnings, *warnings]
    event.processed_at = now


def _claim(batch_size: int, *, now) -> tuple[list[Event], int]:
    """Lock and load the oldest pending events; returns them and how many were claimed.

    One query when every row loads (on PostgreSQL written out and loaded
    without the ORM, see ``rows``). A row that cannot be loaded (a time out
    of Python's range, JSON too deep) would otherwise fail every claim of
    every worker, so the batch is then claimed by id and loaded row by row,
    and each row that still fails is set aside (``quarantine.set_aside``).
    """
    pending = (
        Event.objects.select_for_update(skip_locked=True)
        .filter(processed_at__isnull=True)
        .order_by("id")
    )
    try:
        if connection.vendor == "postgresql":
            events = rows.claim(batch_size)
        else:
            events = list(pending[:batch_size])
        claimed = len(events)
    except quarantine.UNREADABLE:
        # The rows are locked (the server ran the query; loading failed here).
        ids = list(pending.values_list("pk", flat=True)[:batch_size])
        events, claimed = quarantine.load_or_set_aside(ids, now=now), len(ids)
    return quarantine.set_aside_timeless(events, now=now), claimed


# What extract_identifiers reads of an event.
IDENTIFYING_FIELDS = [
    "workspace_id",
    "type",
    "user_id",
    "anonymous_id",
    "previous_id",
    "traits",
    "context",
]


def _left_for_older(events, extracted, workspaces) -> set[int]:
    """The claimed events to leave until older pending events are processed.

    Every pending event with a smaller id than the batch's last that the
    batch did not claim may be in flight with another worker: the claim
    skipped it, whether it lies before the batch or in a gap between claimed
    events (a batch that starts with an event left by an earlier claim reaches
    past events another worker claimed since). A claimed event sharing an
    identifier with such an event older than itself is left for a later claim,
    and so is every later event sharing an identifier with one left: each
    customer's events are resolved in their order, while the rest of the batch
    goes ahead instead of waiting for the other worker's identifier locks. An
    event is never left for a newer one, so the oldest pending event of a
    customer always goes ahead.
    """
    if connection.vendor != "postgresql":
        return set()  # one writer at a time: nothing older is in flight
    try:
        older = rows.pending_before(events[-1].pk, [e.pk for e in events], IDENTIFYING_FIELDS)
    except quarantine.UNREADABLE:
        # A row the worker holding it cannot load either, and is setting aside:
        # its identifiers are unknown, so whatever follows the oldest of these
        # rows waits for them.
        first = (
            Event.objects.filter(processed_at__isnull=True, pk__lt=events[-1].pk)
            .exclude(pk__in=[e.pk for e in events])
            .values_list("pk", flat=True)
            .order_by("pk")
            .first()
        )
        return {e.pk for e in events if first is not None and e.pk > first}
    if not older:
        return set()
    missing = {e.workspace_id for e in older} - set(workspaces)
    workspaces = {**workspaces, **Workspace.objects.in_bulk(missing)}

    def keys(event, found) -> set:
        return {(event.workspace_id, *pair) for pair in found.lock_pairs()}

    busy, left, position = set(), set(), 0
    for event in events:
        # Only what is older than this event may hold it back.
        while position < len(older) and older[position].pk < event.pk:
            row = older[position]
            found = extract_identifiers(event=row, workspace=workspaces[row.workspace_id])
            busy |= keys(row, found)
            position += 1
        mine = keys(event, extracted[event.pk])
        if mine & busy:
            left.add(event.pk)
            busy |= mine
    return left


def _process_with_retries(event: Event, workspaces, extracted, *, now) -> None:
    warnings = list(event.warnings or [])
    for attempt in range(1, MAX_EVENT_ATTEMPTS + 1):
        event.warnings = list(warnings)
        try:
            with transaction.atomic():
                _process_events([event], workspaces, extracted, now=now)
                return
        except (IntegrityError, ProfilesMoved) as exc:
            failure = exc
        except DatabaseError as exc:
            if lost_race(exc):
                failure = exc
            elif isinstance(exc, DataError):  # a value of this event, not the database
                _set_failed(event, warnings, exc, now=now)
                return
            else:
                raise
        except Exception as exc:
            _set_failed(event, warnings, exc, now=now)
            return
        logger.info(
            "event %s conflicted with another worker (attempt %d): %s", event.pk, attempt, failure
        )
    raise Contention


def _set_failed(event: Event, warnings: list, exc: Exception, *, now) -> None:
    """Mark an event that failed processing as processed, with a warning.

    If even that cannot be saved (the warning or the row itself is what the
    database refuses), the event is set aside instead of being retried for ever.
    """
    logger.exception("event %s (message %s) could not be processed", event.pk, event.message_id)
    event.profile_id = event.origin_profile_id = None  # not saved: the row never had one
    event.warnings = [*warnings, f"processing failed: {type(exc).__name__}: {exc}"]
    event.processed_at = now
    try:
        with transaction.atomic():
            event.save(update_fields=["warnings", "processed_at"])
    except (DataError, *quarantine.UNREADABLE) as save_error:
        quarantine.set_aside(
            event.pk,
            f"processing failed ({type(exc).__name__}: {exc}) and the event could not be "
            f"saved ({type(save_error).__name__}: {save_error})",
            now=now,
        )
