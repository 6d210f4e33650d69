"""The second entrance to the events table: events that already belong to a
profile (the message timeline, segment membership).

``store_events`` takes unprocessed events, which processing attributes later;
``record_events`` writes events whose profile is known, already processed, so
they show on the timeline at once. Either way ``events_recorded`` announces
each event after the commit that gave it its profile, so segments (and later
journeys) react to every writer alike.

Rows are written set-based, ``INSERT … VALUES … ON CONFLICT DO NOTHING
RETURNING``, so a row whose message id is stored already is skipped and not
announced: writers derive the message id from what caused the event, and a
signal seen twice is stored and announced once.
"""

import json
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from .models import Event
from .signals import RecordedEvent, announce

# Rows per INSERT statement: 1,000 rows of 10 parameters stay far below the
# parameter limits of PostgreSQL and SQLite.
CHUNK = 1000
_COLUMNS = (
    "workspace_id, message_id, type, name, user_id, anonymous_id, group_id, previous_id,"
    " timestamp, received_at, warnings, properties, traits, context, channel, profile_id,"
    " origin_profile_id, processed_at"
)


class EventToRecord(NamedTuple):
    workspace_id: int
    profile_id: int
    name: str
    message_id: str
    timestamp: datetime
    properties: dict
    channel: str = ""


def record_events(rows: list[EventToRecord]) -> list[RecordedEvent]:
    """Write ``rows`` as processed ``track`` events of their profiles; returns
    the events written (rows whose message id was stored already are not)."""
    now = timezone.now()
    recorded: list[RecordedEvent] = []
    with transaction.atomic():
        for start in range(0, len(rows), CHUNK):
            recorded.extend(_insert(rows[start : start + CHUNK], now))
        announce(recorded)
    return recorded


def _insert(rows: list[EventToRecord], now: datetime) -> list[RecordedEvent]:
    by_key = {}
    for row in rows:
        by_key.setdefault((row.workspace_id, row.message_id[:100]), row)
    if not by_key:
        return []
    insert = _insert_postgresql if connection.vendor == "postgresql" else _insert_values
    with connection.cursor() as cursor:
        cursor.execute(*insert(by_key, now))
        written = cursor.fetchall()
    recorded = []
    for event_id, workspace_id, message_id in written:
        row = by_key[(workspace_id, message_id)]
        recorded.append(
            RecordedEvent(
                id=event_id,
                workspace_id=workspace_id,
                profile_id=row.profile_id,
                name=row.name,
                timestamp=row.timestamp,
                message_id=message_id,
                channel=row.channel[:32],
            )
        )
    return recorded


def _insert_postgresql(by_key: dict, now: datetime) -> tuple[str, list]:
    """The rows as one JSON document decoded on the server: as ``VALUES``
    with ten parameters a row, quoting them into the statement and
    PostgreSQL parsing it cost 60 µs a row (a re-check of 20 segments
    records about two for every event processed)."""
    document = json.dumps(
        [
            [
                w,
                m,
                row.name,
                row.timestamp.isoformat(),
                row.properties,
                row.channel[:32],
                row.profile_id,
            ]
            for (w, m), row in by_key.items()
        ]
    )
    sql = (
        f"INSERT INTO {Event._meta.db_table} ({_COLUMNS})"  # noqa: S608 - constant table and columns; values are params
        " SELECT (r->>0)::bigint, r->>1, 'track', r->>2, '', '', '', '', (r->>3)::timestamptz,"
        " %s, '[]', r->4, '{}', '{}', r->>5, (r->>6)::bigint, (r->>6)::bigint, %s"
        " FROM jsonb_array_elements(%s::jsonb) AS r"
        " ON CONFLICT (workspace_id, message_id) DO NOTHING"
        " RETURNING id, workspace_id, message_id"
    )
    return sql, [now, now, document]


def _insert_values(by_key: dict, now: datetime) -> tuple[str, list]:
    adapt = connection.ops.adapt_datetimefield_value
    row_sql = "(%s, %s, 'track', %s, '', '', '', '', %s, %s, '[]', %s, '{}', '{}', %s, %s, %s, %s)"
    params: list = []
    for (workspace_id, message_id), row in by_key.items():
        params += [
            workspace_id,
            message_id,
            row.name,
            adapt(row.timestamp),
            adapt(now),
            json.dumps(row.properties),
            row.channel[:32],
            row.profile_id,
            row.profile_id,
            adapt(now),
        ]
    sql = (
        f"INSERT INTO {Event._meta.db_table} ({_COLUMNS}) VALUES "  # noqa: S608 - constant table and columns; values are params
        + ", ".join([row_sql] * len(by_key))
        + " ON CONFLICT (workspace_id, message_id) DO NOTHING"
        " RETURNING id, workspace_id, message_id"
    )
    return sql, params
