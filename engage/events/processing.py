"""Event processing: claim unprocessed events in batches and resolve their profiles.

Ingestion only stores events; this is where each one is tied to a customer.
Workers claim the oldest pending events with ``SELECT … FOR UPDATE SKIP
LOCKED`` (on SQLite, a single writer, the lock is a no-op), one transaction per
batch, so any number of workers can run side by side and an event is processed
exactly once: a worker that dies mid-batch rolls its batch back and another
worker claims it again. A claimed event that follows an older one still in flight with another
worker (they share an identifier) is left for a later claim, so that each
customer's events are resolved in their order without the whole batch
waiting for the other worker.

Per event: the identifiers are extracted and normalized; an event carrying
an erased customer's identifier is deleted (the erasure must stick);
otherwise enrichment plugins add their properties (``engage_enrich_event``),
the profile is resolved (created, found or merged), the event's
traits, times, timezone and locale are applied to it, and the event is marked
processed. A batch locks each profile once, applies its events to it in
memory, in event order, and writes profiles and events with one UPDATE each
at the end (and before a merge, which reads those rows). When anything in a
batch fails, the batch rolls back and is processed again with a savepoint per
event: a savepoint that fails on a deadlock, a serialization failure or a
unique-key race is retried; an event that fails for any other reason is
marked processed with a warning and logged, so that one bad event cannot
block the queue.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils import timezone

from engage.bulk import update_rows
from engage.plugins.enrichment import enrich_event
from engage.profiles.locks import ProfilesMoved, lock_identifiers
from engage.profiles.models import Profile
from engage.profiles.resolution import (
    BatchProfiles,
    Extracted,
    extract_identifiers,
    resolve_identifiers,
)
from engage.profiles.updates import apply_event
from engage.workspaces.models import Workspace

from . import quarantine, suppression
from .models import Event
from .signals import announce, processed_events, send_events_processed

logger = logging.getLogger(__name__)

# Attempts per event when the database reports a conflict with another worker.
MAX_EVENT_ATTEMPTS = 4
# SQLSTATEs worth retrying: deadlock_detected, serialization_failure,
# lock_not_available.
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}
PROFILE_FIELDS = list(Profile.EVENT_DRIVEN_FIELDS)
EVENT_FIELDS = ["profile", "origin_profile_id", "processed_at", "warnings"]


class PendingWrites:
    """The event and profile writes of a batch, made once for the whole batch.

    Profiles are locked once per batch and changed in memory, event after
    event, then written with one UPDATE; events likewise. ``flush`` also runs
    before a merge, which reads and moves profile and event rows.
    """

    def __init__(self):
        self.events: list[Event] = []
        self.enriched: list[Event] = []  # events whose properties plugins changed
        self.profiles: dict[int, Profile] = {}  # changed since the last flush
        self.batch = BatchProfiles(flush=self.flush)

    def flush(self) -> None:
        update_rows(Profile, list(self.profiles.values()), PROFILE_FIELDS)
        update_rows(Event, self.events, EVENT_FIELDS)
        update_rows(Event, self.enriched, ["properties"])
        self.profiles, self.events, self.enriched = {}, [], []


class AllLeft(Exception):
    """Every claimed event follows an older one that another worker holds."""


class Contention(Exception):
    """An event kept conflicting with other workers; its batch is retried later."""


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
            claimed, left = process_batch(batch_size=batch_size, outcome=outcome)
        except AllLeft:
            # The worker holding the older events commits within a batch's time.
            time.sleep(0.01)
            claimed, left = batch_size, batch_size
        except Contention:
            # Our batch rolled back, letting the worker we conflicted with
            # finish; wait a little and claim again.
            contention += 1
            logger.warning("processing batch rolled back after repeated conflicts; retrying")
            time.sleep(min(0.05 * contention, 1.0))
            claimed, left = batch_size, 0
        if claimed < batch_size and not left:
            break
        if deadline is not None and time.monotonic() >= deadline:
            outcome.remaining = Event.objects.filter(processed_at__isnull=True).exists()
            break
    if outcome.dropped:
        logger.info("dropped %d events of erased customers", outcome.dropped)
    return outcome


def process_batch(*, batch_size: int, outcome: Outcome) -> tuple[int, int]:
    """Claim up to ``batch_size`` events and process them in one transaction.

    Returns how many were claimed, and how many of them were left for a later
    claim (see ``_left_for_older``). ``outcome`` is only updated once the batch
    committed: a batch rolled back on contention is claimed again, and its
    events must not be counted twice.

    A batch is first processed without a savepoint per event (two round trips
    fewer per event, about 15% of the work). If anything fails, it rolls back
    whole and is claimed again event by event, each in a savepoint, so that a
    conflict is retried and a bad event is set aside without holding up the
    others.
    """
    try:
        return _process_batch(batch_size, outcome, careful=False)
    except AllLeft:
        raise
    except Exception:
        logger.info("batch failed; processing it again event by event", exc_info=True)
    return _process_batch(batch_size, outcome, careful=True)


def _process_batch(batch_size: int, outcome: Outcome, *, careful: bool) -> tuple[int, int]:
    processed = dropped = 0
    with transaction.atomic():
        now = timezone.now()
        events, claimed = _claim(batch_size, now=now)
        if not events:
            return claimed, 0
        workspace_ids = {e.workspace_id for e in events}
        workspaces = Workspace.objects.in_bulk(workspace_ids)
        with_suppressions = suppression.workspaces_with_suppressions(workspace_ids)
        extracted = {
            e.pk: extract_identifiers(event=e, workspace=workspaces[e.workspace_id]) for e in events
        }
        left = _left_for_older(events, extracted, workspaces)
        if len(left) == len(events):
            raise AllLeft
        # Every identifier of the batch, locked up front in one sorted pass, so
        # that two workers whose batches overlap cannot deadlock on them.
        by_workspace: dict[int, list] = {}
        for event in events:
            if event.pk not in left:
                pairs = extracted[event.pk].lock_pairs()
                by_workspace.setdefault(event.workspace_id, []).extend(pairs)
        for workspace_id in sorted(by_workspace):
            lock_identifiers(workspace_id, by_workspace[workspace_id])
        # Taken again once the locks are held, so that processed_at follows
        # the order in which each customer's events were resolved.
        now = timezone.now()

        pending = None if careful else PendingWrites()
        for event in events:
            if event.pk in left:
                continue
            workspace = workspaces[event.workspace_id]
            check = event.workspace_id in with_suppressions
            if careful:
                kept = _process_with_retries(
                    event, workspace, extracted[event.pk], check_suppression=check, now=now
                )
            else:
                kept = process_event(
                    event=event,
                    workspace=workspace,
                    extracted=extracted[event.pk],
                    check_suppression=check,
                    now=now,
                    pending=pending,
                )
            if kept:
                processed += 1
            else:
                dropped += 1
        if pending is not None:
            pending.flush()
        send_events_processed(events, workspaces)
        announce(processed_events(events))
    outcome.processed += processed
    outcome.dropped += dropped
    return claimed, len(left)


def _claim(batch_size: int, *, now) -> tuple[list[Event], int]:
    """Lock and load the oldest pending events; returns them and how many were claimed.

    One query when every row loads. A row that cannot be loaded (a time out
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
    pending = (
        Event.objects.filter(processed_at__isnull=True, pk__lt=events[-1].pk)
        .exclude(pk__in=[e.pk for e in events])
        .order_by("pk")
    )
    try:
        older = list(pending.only(*IDENTIFYING_FIELDS))
    except quarantine.UNREADABLE:
        # A row the worker holding it cannot load either, and is setting aside:
        # its identifiers are unknown, so whatever follows the oldest of these
        # rows waits for them.
        first = pending.values_list("pk", flat=True).first()
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


def _process_with_retries(event, workspace, extracted, *, check_suppression, now) -> bool:
    warnings = list(event.warnings or [])
    for attempt in range(1, MAX_EVENT_ATTEMPTS + 1):
        event.warnings = list(warnings)
        try:
            with transaction.atomic():
                return process_event(
                    event=event,
                    workspace=workspace,
                    extracted=extracted,
                    check_suppression=check_suppression,
                    now=now,
                )
        except (IntegrityError, ProfilesMoved) as exc:
            failure = exc
        except DatabaseError as exc:
            if getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES:
                failure = exc
            elif isinstance(exc, DataError):  # a value of this event, not the database
                return _set_failed(event, warnings, exc, now=now)
            else:
                raise
        except Exception as exc:
            return _set_failed(event, warnings, exc, now=now)
        logger.info(
            "event %s conflicted with another worker (attempt %d): %s", event.pk, attempt, failure
        )
    raise Contention


def _set_failed(event: Event, warnings: list, exc: Exception, *, now) -> bool:
    """Mark an event that failed processing as processed, with a warning.

    If even that cannot be saved (the warning or the row itself is what the
    database refuses), the event is set aside instead of being retried for ever.
    """
    logger.exception("event %s (message %s) could not be processed", event.pk, event.message_id)
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
    return True


def process_event(
    *,
    event: Event,
    workspace: Workspace,
    extracted: Extracted,
    check_suppression: bool,
    now,
    pending: PendingWrites | None = None,
) -> bool:
    """Resolve and apply one claimed event; False when it was dropped (erased customer).

    With ``pending``, the caller holds the batch's identifier locks and writes
    the event and its profile later (``pending.flush``); otherwise both are
    saved here.
    """
    if check_suppression:
        pairs = [(i.kind, i.value) for i in extracted.identifiers]
        if extracted.previous_id:
            pairs += [("user_id", extracted.previous_id), ("anonymous_id", extracted.previous_id)]
        if suppression.suppressed(workspace.pk, pairs):
            event.delete()
            return False
    enriched = enrich_event(event=event, workspace=workspace)

    resolution = resolve_identifiers(
        workspace=workspace,
        extracted=extracted,
        event_type=event.type,
        message_id=event.message_id,
        batch=None if pending is None else pending.batch,
    )
    warnings = [*extracted.warnings]
    if resolution is None:
        warnings.append("no usable identifier: the event is not attributed to a profile")
    else:
        warnings += resolution.warnings
        apply_event(
            profile=resolution.profile,
            event_type=event.type,
            timestamp=event.timestamp,
            traits=event.traits,
            context=event.context,
        )
        if pending is None:
            resolution.profile.save(update_fields=PROFILE_FIELDS)
        else:
            pending.profiles[resolution.profile.pk] = resolution.profile
        event.profile = resolution.profile
        event.origin_profile_id = resolution.profile.pk
    event.warnings = [*event.warnings, *warnings]
    event.processed_at = now
    if pending is None:
        event.save(update_fields=[*EVENT_FIELDS, "properties"] if enriched else EVENT_FIELDS)
    else:
        pending.events.append(event)
        if enriched:
            pending.enriched.append(event)
    return True
