"""Calendar periods as whole numbers, so cohorts and offsets are arithmetic.

A month is ``year * 12 + month - 1``; a week (Monday to Sunday, UTC) is the
number of weeks since Monday 1970-01-05, floored (earlier weeks are
negative). Both are computed in SQL from a timestamp column, the same on
PostgreSQL and SQLite, and turned back into the period's first day here.
"""

from datetime import date, timedelta

from engage.dialect import Dialect

MONTH = "month"
WEEK = "week"
GRAINS = (MONTH, WEEK)
MONDAY_ZERO = date(1970, 1, 5)


def index_sql(sql: Dialect, grain: str, column: str) -> str:
    """The period number of a timestamp column (UTC)."""
    if grain == MONTH:
        if sql.pg:
            # date_part is double precision; EXTRACT's numeric costs twice as much.
            return (
                f"CAST(date_part('year', {column} AT TIME ZONE 'UTC') * 12"
                f" + date_part('month', {column} AT TIME ZONE 'UTC') - 1 AS integer)"
            )
        return (
            f"(CAST(substr({column}, 1, 4) AS INTEGER) * 12"
            f" + CAST(substr({column}, 6, 2) AS INTEGER) - 1)"
        )
    if sql.pg:
        days = f"(CAST({column} AT TIME ZONE 'UTC' AS date) - DATE '1970-01-05')"
    else:
        days = f"CAST(julianday(substr({column}, 1, 10)) - julianday('1970-01-05') AS INTEGER)"
    # Floor division that is exact on both databases (their % truncates);
    # % doubled, as the SQL is run with parameters.
    return f"(({days}) - ((({days}) %% 7) + 7) %% 7) / 7"


def index_of(grain: str, day: date) -> int:
    if grain == MONTH:
        return day.year * 12 + day.month - 1
    return (day - MONDAY_ZERO).days // 7


def first_day(grain: str, index: int) -> date:
    if grain == MONTH:
        return date(index // 12, index % 12 + 1, 1)
    return MONDAY_ZERO + timedelta(weeks=index)
