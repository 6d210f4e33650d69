"""Events whose stored row cannot be loaded or shown, set aside so they block nothing.

A row stored by an older version, or written by another program, can hold
what the database keeps but Python cannot read: a time before year 1 or after
year 9999 (psycopg raises ``DataError`` while loading it; on SQLite a malformed
time string), or JSON nested so deep that decoding or rendering it raises
``RecursionError``. Ingestion refuses both today; these functions make sure
such a row, wherever it came from, stops neither the processing queue nor a
customer's timeline or export.

``load_events`` evaluates a queryset so that a row that cannot be read comes
back as a stand-in: its plain columns, the times that can be read, empty JSON,
and the reason. ``set_aside`` marks a row quarantined with an UPDATE that never
reads the bad columns, and takes it out of the pending queue.
"""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from django.db import DataError, connection, models, transaction
from django.db.models.functions import Cast, Coalesce, Length, Replace
from django.utils import timezone

from engage.json_limits import MAX_DEPTH, TooDeep, check_depth

from .models import Event

logger = logging.getLogger(__name__)

# What loading an unreadable row raises: DataError (psycopg, a time out of
# Python's range), RecursionError (JSON too deep to decode), and on SQLite,
# where a column is any text, ValueError, TypeError or AttributeError from
# Django's time parsing. Connection errors are not among them: a row is never
# set aside because the database is down.
UNREADABLE = (DataError, RecursionError, ValueError, TypeError, AttributeError, OverflowError)
TIME_FIELDS = [f for f in Event._meta.concrete_fields if isinstance(f, models.DateTimeField)]
JSON_FIELDS = [f for f in Event._meta.concrete_fields if isinstance(f, models.JSONField)]
# Columns that load whatever the row holds: ids and bounded text.
PLAIN_FIELDS = [
    f.name for f in Event._meta.concrete_fields if f not in TIME_FIELDS and f not in JSON_FIELDS
]
# An unreadable time that may not be null is shown as the nearest time Python
# can hold, so that the event keeps its place in a timeline.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
MIDDLE = datetime(5000, 1, 1, tzinfo=UTC)


def set_aside(event_id: int, reason: str, *, now: datetime | None = None) -> None:
    """Quarantine the event: no worker claims it again, and its reason is kept.

    ``processed_at`` is set if it was not, which takes the row out of the
    pending queue (and the ``event_unprocessed`` index). Logged once, when
    the transaction that set it aside commits.
    """
    now = now or timezone.now()
    Event.objects.filter(pk=event_id).update(
        quarantined_at=now,
        quarantine_reason=reason,
        processed_at=Coalesce("processed_at", models.Value(now, models.DateTimeField())),
    )
    transaction.on_commit(lambda: logger.error("event %s set aside: %s", event_id, reason))


def load_or_set_aside(event_ids: list[int], *, now: datetime) -> list[Event]:
    """The events ``event_ids`` that can be loaded, in that order; the others set aside.

    For a claimed batch that could not be loaded as a whole: one query per
    row, which only a batch holding a bad row pays.
    """
    events = []
    for pk in event_ids:
        try:
            event = Event.objects.filter(pk=pk).first()
        except UNREADABLE:
            set_aside(pk, stand_in(pk).quarantine_reason, now=now)
            continue
        if event is not None:
            events.append(event)
    return events


def set_aside_timeless(events: list[Event], *, now: datetime) -> list[Event]:
    """``events`` without those whose required time loaded as None, which are set aside.

    SQLite hands back None for a time string Django cannot parse (a year past
    9999, say) instead of raising; such an event could not be processed.
    """
    timeless = [e for e in events if e.timestamp is None or e.received_at is None]
    for event in timeless:
        set_aside(event.pk, _missing_times(event), now=now)
    return [e for e in events if e not in timeless] if timeless else events


def _missing_times(event: Event) -> str:
    return "; ".join(
        f"{field.name}: cannot be read (not a time)"
        for field in TIME_FIELDS
        if not field.null and getattr(event, field.attname) is None
    )


def load_events(queryset: models.QuerySet) -> list[Event]:
    """The events of ``queryset``, where each one that cannot be shown is a stand-in.

    One query when every row loads (the normal case). A quarantined event, or
    one that cannot be loaded or nests deeper than ``MAX_DEPTH`` (it would
    break whatever renders it), comes back with empty JSON and
    ``quarantine_reason`` set; see ``Event.is_quarantined``.
    """
    try:
        events = list(queryset)
    except UNREADABLE:
        ids = list(queryset.values_list("pk", flat=True))
        events = [event for event in map(_load_one, ids) if event is not None]
    for event in events:
        _hide_if_unshowable(event)
    return events


def _load_one(event_id: int) -> Event | None:
    """The event, or its stand-in if it cannot be loaded; None if it is gone."""
    try:
        return Event.objects.filter(pk=event_id).first()
    except UNREADABLE:
        return stand_in(event_id)


def stand_in(event_id: int) -> Event:
    """The event with its plain columns, each time that can be read, and no JSON.

    ``quarantine_reason`` names each column that cannot be read and why
    (kept when the row was set aside already).
    """
    rows = Event.objects.filter(pk=event_id)
    event = rows.only(*PLAIN_FIELDS).get()
    problems = []
    for field in TIME_FIELDS:
        try:
            value = rows.values_list(field.name, flat=True).get()
        except UNREADABLE as exc:
            problems.append(f"{field.name}: cannot be read ({_error(exc)})")
            value = None if field.null else _nearest_time(event_id, field)
        setattr(event, field.attname, value)
    for field in JSON_FIELDS:
        try:
            check_depth(rows.values_list(field.name, flat=True).get())
        except (TooDeep, *UNREADABLE) as exc:
            problems.append(f"{field.name}: {_error(exc)}")
        setattr(event, field.attname, field.get_default())
    event.quarantine_reason = (
        event.quarantine_reason or "; ".join(problems) or "the row cannot be loaded"
    )
    return event


def _hide_if_unshowable(event: Event) -> None:
    missing = _missing_times(event)
    if missing:
        event.quarantine_reason = event.quarantine_reason or missing
        for field in TIME_FIELDS:
            if not field.null and getattr(event, field.attname) is None:
                setattr(event, field.attname, _nearest_time(event.pk, field))
    if not event.is_quarantined:
        for field in JSON_FIELDS:
            try:
                check_depth(getattr(event, field.attname))
            except TooDeep as exc:
                event.quarantine_reason = f"{field.name}: {_error(exc)}"
                break
    if event.is_quarantined:
        for field in JSON_FIELDS:
            setattr(event, field.attname, field.get_default())


def _nearest_time(event_id: int, field: models.DateTimeField) -> datetime:
    """The time Python can hold nearest to the unreadable one stored (compared in SQL)."""
    early = Event.objects.filter(pk=event_id, **{f"{field.name}__lt": MIDDLE}).exists()
    return EARLIEST if early else LATEST


def _error(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return f"nested too deeply to load (deeper than {MAX_DEPTH} levels)"
    if isinstance(exc, TooDeep):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc).strip()}"


def find_unshowable(*, batch_size: int = 1000) -> Iterator[Event]:
    """Every event not yet quarantined that cannot be loaded or shown, oldest first.

    Reads the table in batches of ids (the primary key index), so it can run
    on a live database; a batch holding a bad row is read again row by row.
    The events come back as ``load_events`` makes them: with the reason set.
    """
    last = 0
    while True:
        ids = list(
            Event.objects.filter(pk__gt=last, quarantined_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return
        last = ids[-1]
        batch = _suspects(Event.objects.filter(pk__in=ids).order_by("pk"))
        yield from (event for event in load_events(batch) if event.is_quarantined)


def _suspects(batch: models.QuerySet) -> models.QuerySet:
    """On PostgreSQL, only the rows of ``batch`` that may be unreadable.

    A time outside Python's range, or JSON text opening more than
    ``MAX_DEPTH`` arrays and objects (``json_limits.may_be_too_deep``, in SQL):
    the database checks every row, Python decodes only the few suspects. On
    SQLite a time is any text, so every row is loaded and checked.
    """
    if connection.vendor != "postgresql":
        return batch
    suspect = models.Q()
    for field in TIME_FIELDS:
        suspect |= models.Q(**{f"{field.name}__lt": EARLIEST})
        suspect |= models.Q(**{f"{field.name}__gt": LATEST})
    opens = {}
    for field in JSON_FIELDS:
        text = Cast(field.name, models.TextField())
        closed = Replace(Replace(text, models.Value("["), models.Value("")), models.Value("{"))
        opens[f"{field.name}_opens"] = Length(text) - Length(closed)
        suspect |= models.Q(**{f"{field.name}_opens__gt": MAX_DEPTH})
    return batch.annotate(**opens).filter(suspect)
