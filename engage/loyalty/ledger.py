"""The one way points move: movements written set-based, balances kept by delta.

``write`` inserts a batch of movements with ``ON CONFLICT DO NOTHING
RETURNING``, so a movement whose (rule, event) pair or caller reference is
stored already is skipped, and adds what was really written to the balances
in one ``UPDATE … SET points = points + delta``. No balance is read, added to
and written back in Python: two workers earning for the same customer at once
each add their own delta under the row's lock, and neither loses the other's.
"""

from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from .models import LoyaltyAccount, PointsMovement

# Rows per statement: 500 rows of 13 parameters stay under SQLite's limit.
CHUNK = 500
_MOVEMENT_COLUMNS = (
    ("programme_id", "bigint"),
    ("profile_id", "bigint"),
    ("origin_profile_id", "bigint"),
    ("kind", "text"),
    ("points", "bigint"),
    ("rule_id", "bigint"),
    ("event_id", "bigint"),
    ("event_time", "timestamptz"),
    ("occurred_at", "timestamptz"),
    ("expires_at", "timestamptz"),
    ("reason", "text"),
    ("reference", "text"),
    ("created_at", "timestamptz"),
)
_ACCOUNT_COLUMNS = (
    ("workspace_id", "bigint"),
    ("programme_id", "bigint"),
    ("profile_id", "bigint"),
    ("origin_profile_id", "bigint"),
    ("tier", "text"),
    ("points", "bigint"),
    ("external_id", "text"),
    ("created_at", "timestamptz"),
)


class NewMovement(NamedTuple):
    workspace_id: int
    programme_id: int
    profile_id: int
    kind: str
    points: int
    occurred_at: datetime
    rule_id: int | None = None
    event_id: int | None = None
    event_time: datetime | None = None
    expires_at: datetime | None = None
    reason: str = ""
    reference: str = ""


class Written(NamedTuple):
    id: int
    programme_id: int
    profile_id: int
    points: int


def rows_table(rows: list[tuple], types: list[str]) -> tuple[str, list]:
    """``rows`` as a table for ``INSERT … {table}`` or ``WITH d(…) AS ({table})``.

    On PostgreSQL one array per column (``unnest``): a thousand rows are a
    dozen parameters, where a VALUES list of 13,000 cost more to send than to
    run (psycopg splits the query text at every placeholder). SQLite gets
    the VALUES list.
    """
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        columns = [list(column) for column in zip(*rows, strict=True)]
        return f"SELECT * FROM unnest({arrays})", columns  # noqa: S608 - types are constants
    adapt = connection.ops.adapt_datetimefield_value
    row = "(" + ", ".join(["%s"] * len(types)) + ")"
    params = [adapt(v) if isinstance(v, datetime) else v for values in rows for v in values]
    return "VALUES " + ", ".join([row] * len(rows)), params


def write(movements: list[NewMovement]) -> list[Written]:
    """Store ``movements`` (opening accounts as needed) and add them to the
    balances; returns those written, without the ones stored already."""
    if not movements:
        return []
    with transaction.atomic():
        open_accounts({(m.workspace_id, m.programme_id, m.profile_id) for m in movements})
        written = insert(movements)
        deltas: dict[tuple[int, int], int] = defaultdict(int)
        for row in written:
            deltas[(row.programme_id, row.profile_id)] += row.points
        add_to_balances(deltas)
    return written


def open_accounts(keys: set[tuple[int, int, int]]) -> None:
    """An account for each (workspace, programme, profile) that has none."""
    now = timezone.now()
    rows = [(*key, key[2], "", 0, "", now) for key in sorted(keys)]
    for start in range(0, len(rows), CHUNK):
        _insert(LoyaltyAccount, _ACCOUNT_COLUMNS, rows[start : start + CHUNK], returning="")


def insert(movements: list[NewMovement]) -> list[Written]:
    """Store ``movements`` without touching balances (the caller adds them);
    returns those written."""
    now = timezone.now()
    rows = [
        (
            m.programme_id,
            m.profile_id,
            m.profile_id,
            m.kind,
            m.points,
            m.rule_id,
            m.event_id,
            m.event_time,
            m.occurred_at,
            m.expires_at,
            m.reason[:200],
            m.reference[:100],
            now,
        )
        for m in movements
    ]
    written = []
    for start in range(0, len(rows), CHUNK):
        found = _insert(
            PointsMovement,
            _MOVEMENT_COLUMNS,
            rows[start : start + CHUNK],
            returning=" RETURNING id, programme_id, profile_id, points",
        )
        written += [Written(*row) for row in found]
    return written


def _insert(model, columns, rows: list[tuple], *, returning: str) -> list[tuple]:
    """``INSERT … ON CONFLICT DO NOTHING`` of ``rows``; the rows ``returning`` names."""
    if not rows:
        return []
    table, params = rows_table(rows, [kind for _, kind in columns])
    names = ", ".join(name for name, _ in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({names}) {table}"
            f" ON CONFLICT DO NOTHING{returning}",
            params,
        )
        return cursor.fetchall() if returning else []


def add_to_balances(deltas: dict[tuple[int, int], int]) -> None:
    """``points = points + delta`` for each (programme, profile), in one statement.

    On PostgreSQL the accounts are locked in id order first, so two batches
    touching the same customers in another order wait instead of deadlocking.
    """
    deltas = {key: delta for key, delta in deltas.items() if delta}
    if not deltas:
        return
    table = LoyaltyAccount._meta.db_table
    rows, params = rows_table(
        [(*key, delta) for key, delta in deltas.items()], ["bigint", "bigint", "bigint"]
    )
    moves = f"WITH d(programme_id, profile_id, delta) AS ({rows})"
    same = f"d.programme_id = {table}.programme_id AND d.profile_id = {table}.profile_id"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"{moves} SELECT a.id FROM {table} a JOIN d ON a.programme_id = d.programme_id"  # noqa: S608 - constant table; values are params
                " AND a.profile_id = d.profile_id ORDER BY a.id FOR UPDATE OF a",
                params,
            )
        cursor.execute(
            f"{moves} UPDATE {table} SET points = points + (SELECT d.delta FROM d WHERE {same})"  # noqa: S608 - constant table; values are params
            f" WHERE EXISTS (SELECT 1 FROM d WHERE {same})",
            params,
        )
