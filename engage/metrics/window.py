"""A metric's date range, and the SQL pieces every metric shares.

A range is two calendar dates in UTC, both included: ``start`` 00:00 to the
end of ``end``. An ``end`` before ``start`` is an empty range (every count
zero), not an error: the two are valid dates each, and a dashboard's range
picker may cross them for a moment.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.db import connection

from engage.dialect import Dialect

# Canonical customers' rows that are not set aside (quarantine), for ``e``.
EVENT_ROWS = "e.workspace_id = %s AND e.profile_id IS NOT NULL AND e.quarantined_at IS NULL"


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """The last instant of ``end`` (compared with ``<=``: ``end`` may be
        the last representable date, which has no next day)."""
        return datetime.combine(self.end, time.max, tzinfo=UTC)

    def params(self, sql: Dialect) -> list:
        """``[start_at, end_at]`` as the timestamp columns store them."""
        return [sql.ts(self.start_at), sql.ts(self.end_at)]


def fetch(sql: str, params: list) -> list[dict]:
    """Rows as dicts, numbers as int or float (PostgreSQL's numeric comes
    back as Decimal, which JSON and CSV would not treat alike)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [
            {
                name: float(value) if isinstance(value, Decimal) else value
                for name, value in zip(names, row, strict=True)
            }
            for row in cursor.fetchall()
        ]


def ratio(part: float, whole: float) -> float | None:
    """``part / whole``, or None when there is nothing to divide by."""
    return part / whole if whole else None


def json_text(sql: Dialect, column: str, path: list[str]) -> tuple[str, list]:
    """The text at ``path`` of a JSON column, '' when absent or not a string."""
    if sql.pg:
        return (
            f"CASE WHEN jsonb_typeof({column} #> %s::text[]) = 'string'"
            f" THEN {column} #>> %s::text[] ELSE '' END",
            [path, path],
        )
    jpath = "$" + "".join(f'."{part}"' for part in path)
    return (
        f"CASE WHEN json_type({column}, %s) = 'text' THEN json_extract({column}, %s) ELSE '' END",
        [jpath, jpath],
    )
