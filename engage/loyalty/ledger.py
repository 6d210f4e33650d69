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

# Rows per INSERT: 500 rows of 13 parameters stay under both databases' limits.
CHUNK = 500
_COLUMNS = (
    "programme_id, profile_id, origin_profile_id, kind, points, rule_id, event_id,"
    " event_time, occurred_at, expires_at, reason, reference, created_at"
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


def write(movements: list[NewMovement]) -> list[Written]:
    """Store ``movements`` (opening accounts as needed) and add them to the
    balances; returns those written, without the ones stored already."""
    if not movements:
        return []
    with transaction.atomic():
        open_accounts({(m.workspace_id, m.programme_id, m.profile_id) for m in movements})
        written: list[Written] = []
        for start in range(0, len(movements), CHUNK):
            written.extend(insert(movements[start : start + CHUNK]))
        deltas: dict[tuple[int, int], int] = defaultdict(int)
        for row in written:
            deltas[(row.programme_id, row.profile_id)] += row.points
        add_to_balances(deltas)
    return written


def open_accounts(keys: set[tuple[int, int, int]]) -> None:
    """An account for each (workspace, programme, profile) that has none."""
    LoyaltyAccount.objects.bulk_create(
        [
            LoyaltyAccount(
                workspace_id=workspace_id,
                programme_id=programme_id,
                profile_id=profile_id,
                origin_profile_id=profile_id,
            )
            for workspace_id, programme_id, profile_id in sorted(keys)
        ],
        ignore_conflicts=True,
    )


def insert(movements: list[NewMovement]) -> list[Written]:
    """Store ``movements`` without touching balances (the caller adds them);
    returns those written."""
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    params: list = []
    for m in movements:
        params += [
            m.programme_id,
            m.profile_id,
            m.profile_id,
            m.kind,
            m.points,
            m.rule_id,
            m.event_id,
            adapt(m.event_time),
            adapt(m.occurred_at),
            adapt(m.expires_at),
            m.reason[:200],
            m.reference[:100],
            now,
        ]
    row = "(" + ", ".join(["%s"] * 13) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PointsMovement._meta.db_table} ({_COLUMNS}) VALUES "  # noqa: S608 - constant table and columns; values are params
            + ", ".join([row] * len(movements))
            + " ON CONFLICT DO NOTHING RETURNING id, programme_id, profile_id, points",
            params,
        )
        return [Written(*found) for found in cursor.fetchall()]


def add_to_balances(deltas: dict[tuple[int, int], int]) -> None:
    """``points = points + delta`` for each (programme, profile), in one statement.

    On PostgreSQL the accounts are locked in id order first, so two batches
    touching the same customers in another order wait instead of deadlocking.
    """
    deltas = {key: delta for key, delta in deltas.items() if delta}
    if not deltas:
        return
    table = LoyaltyAccount._meta.db_table
    if connection.vendor == "postgresql":
        keys = list(deltas)
        rows = "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])"
        params = [[k[0] for k in keys], [k[1] for k in keys], [deltas[k] for k in keys]]
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH d(programme_id, profile_id, delta) AS ({rows})"  # noqa: S608 - constant table; values are params
                f" SELECT a.id FROM {table} a JOIN d ON a.programme_id = d.programme_id"
                " AND a.profile_id = d.profile_id ORDER BY a.id FOR UPDATE OF a",
                params,
            )
    else:
        rows = "VALUES " + ", ".join(["(%s, %s, %s)"] * len(deltas))
        params = [
            value
            for (programme, profile), delta in deltas.items()
            for value in (programme, profile, delta)
        ]
    same = f"d.programme_id = {table}.programme_id AND d.profile_id = {table}.profile_id"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH d(programme_id, profile_id, delta) AS ({rows})"  # noqa: S608 - constant table; values are params
            f" UPDATE {table} SET points = points + (SELECT d.delta FROM d WHERE {same})"
            f" WHERE EXISTS (SELECT 1 FROM d WHERE {same})",
            params,
        )
