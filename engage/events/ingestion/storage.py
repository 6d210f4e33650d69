"""Writing validated events, deduplicated on (workspace, messageId).

On PostgreSQL a batch is ``COPY``-ed straight into the events table; a batch
holding an already stored messageId (a client resending after a timeout) fails
the unique constraint as a whole, and then goes through ``COPY`` into a
temporary staging table and ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``,
so that a resent event or batch stores nothing new. Resends are rare, and the
staging detour costs about 20% (measured alternatives are in
docs/performance.md). Text COPY is used on purpose: in binary COPY a Python
``str`` sent to a jsonb column is stored as a JSON *string*, not the object it
spells. A few rows (a single-event call) go in
one ``INSERT ... VALUES ... ON CONFLICT DO NOTHING`` statement instead, which
commits on its own: no BEGIN, staging COPY and COMMIT round trips.

Other databases (the embedded SQLite default) use ``bulk_create`` with
``ignore_conflicts``: slower, same outcome. Its result lists every row given,
stored or ignored, so what was stored is counted by SQLite itself (the
connection's ``total_changes`` before and after).

Either way the rows are stored in one transaction (the caller's, if it has
one); 200 is answered after the commit, so an acknowledged event is durable.
"""

import json
import weakref

from django.db import IntegrityError, connection, transaction

from engage.events.models import Event

from .validation import EventRow

STAGING_TABLE = "engage_ingest_stage"
COLUMNS = EventRow._fields
JSON_COLUMNS = frozenset({"warnings", "properties", "traits", "context"})
_COLUMN_TYPES = {
    "timestamp": "timestamptz",
    "original_timestamp": "timestamptz",
    "sent_at": "timestamptz",
    "received_at": "timestamptz",
}
CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ("
    + ", ".join(
        f"{name} {'jsonb' if name in JSON_COLUMNS else _COLUMN_TYPES.get(name, 'text')}"
        for name in COLUMNS
    )
    + ") ON COMMIT DELETE ROWS"
)
_COLUMN_LIST = ", ".join(COLUMNS)
COPY_STAGING = f"COPY {STAGING_TABLE} ({_COLUMN_LIST}) FROM STDIN"
COPY_EVENTS = f"COPY {Event._meta.db_table} (workspace_id, {_COLUMN_LIST}) FROM STDIN"
# Identifiers below are this module's constants, never input.
INSERT_FROM_STAGING = (
    f"INSERT INTO {Event._meta.db_table} (workspace_id, {_COLUMN_LIST}) "  # noqa: S608
    f"SELECT %s, {_COLUMN_LIST} FROM {STAGING_TABLE} "
    "ON CONFLICT (workspace_id, message_id) DO NOTHING"
)
NO_WARNINGS = "[]"
# Up to this many rows, one INSERT ... VALUES statement beats COPY + INSERT.
VALUES_MAX_ROWS = 10
_VALUES_ROW = (
    "(%s, " + ", ".join("%s::jsonb" if name in JSON_COLUMNS else "%s" for name in COLUMNS) + ")"
)
_INSERT_VALUES = (
    f"INSERT INTO {Event._meta.db_table} (workspace_id, {_COLUMN_LIST}) VALUES {{rows}} "  # noqa: S608
    "ON CONFLICT (workspace_id, message_id) DO NOTHING"
)

# Raw connections whose staging table exists (a temp table lives as long as
# its connection; it is recorded after the commit that created it, because a
# rollback would drop it again).
_staged_connections: "weakref.WeakSet" = weakref.WeakSet()

#: JSON text as stored (compact, UTF-8); also how an event's size is measured.
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def store_events(*, workspace_id: int, rows: list[EventRow]) -> int:
    """Store ``rows`` unless their messageId is already stored; returns how many were new."""
    rows = _first_of_each_message_id(rows)
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        if len(rows) <= VALUES_MAX_ROWS:
            return _insert_values(workspace_id, rows)
        try:
            with transaction.atomic():
                return _copy(workspace_id, rows)
        except IntegrityError:
            pass  # some messageId is stored already: keep the others only
        with transaction.atomic(savepoint=False):  # ON COMMIT DELETE ROWS needs one
            return _copy_and_insert(workspace_id, rows)
    connection.ensure_connection()
    before = connection.connection.total_changes
    Event.objects.bulk_create(
        [Event(workspace_id=workspace_id, **row._asdict()) for row in rows],
        ignore_conflicts=True,
    )
    return connection.connection.total_changes - before


def _first_of_each_message_id(rows: list[EventRow]) -> list[EventRow]:
    seen = set()
    unique = []
    for row in rows:
        if row.message_id not in seen:
            seen.add(row.message_id)
            unique.append(row)
    return unique


def _values(row: EventRow, dumps=compact_json) -> tuple:
    """``row`` as stored: JSON columns as JSON text."""
    return (
        row.message_id,
        row.type,
        row.name,
        row.user_id,
        row.anonymous_id,
        row.group_id,
        row.previous_id,
        row.timestamp,
        row.original_timestamp,
        row.sent_at,
        row.received_at,
        dumps(row.warnings) if row.warnings else NO_WARNINGS,
        dumps(row.properties),
        dumps(row.traits),
        dumps(row.context),
        row.channel,
    )


def _insert_values(workspace_id: int, rows: list[EventRow]) -> int:
    query = _INSERT_VALUES.format(rows=", ".join([_VALUES_ROW] * len(rows)))
    params = []
    for row in rows:
        params.append(workspace_id)
        params.extend(_values(row))
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.rowcount


def _copy(workspace_id: int, rows: list[EventRow]) -> int:
    connection.ensure_connection()
    with (
        connection.wrap_database_errors,
        connection.connection.cursor() as cursor,
        cursor.copy(COPY_EVENTS) as copy,
    ):
        write_row = copy.write_row
        for row in rows:
            write_row((workspace_id, *_values(row)))
    return len(rows)


def _copy_and_insert(workspace_id: int, rows: list[EventRow]) -> int:
    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors, raw.cursor() as cursor:
        if raw not in _staged_connections:
            cursor.execute(CREATE_STAGING)
            connection.on_commit(lambda: _staged_connections.add(raw))
        with cursor.copy(COPY_STAGING) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(_values(row))
        cursor.execute(INSERT_FROM_STAGING, (workspace_id,))
        return cursor.rowcount
