"""Retention: cohort tables, and the dormant share over time.

**Cohort retention** (``retention``). A customer's cohort is the period
(``grain``: calendar ``month`` or Monday-to-Sunday ``week``, UTC) of their
first activity (``basis=first_seen``) or of their first purchase
(``basis=first_purchase``). The cohorts shown are the periods holding a day
of ``start`` to ``end``. A cohort's ``size`` counts its customers;
``active[k]`` counts those of them with an activity (``activity=any``: an
event the customer caused, not one engage wrote such as a send) or a purchase
(``activity=purchase``) in the k-th period after the cohort's, from 0 up to
the period holding ``end`` (or today, if earlier); ``rates[k]`` is ``active[k] / size``. Periods are
counted whole (the current one so far).

Closed periods are read from the daily rollups (``rollups``) when the beat
task has written them; the open period is computed live.

**Dormant share** (``dormant``). At the end of each period from ``start``'s
to ``end``'s (up to today), the share of customers seen by then (first
activity on or before that day) whose last activity on or before that day is
at least the dormancy model's ``dormancy_dormant_days`` (120) days earlier.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from engage.dialect import Dialect
from engage.workspaces.models import Workspace

from . import periods, rollups
from .definitions import activity_kinds, dormant_days, purchase
from .window import EVENT_ROWS, fetch, ratio

FIRST_SEEN = "first_seen"
FIRST_PURCHASE = "first_purchase"
BASES = (FIRST_SEEN, FIRST_PURCHASE)
ANY = "any"
PURCHASE = "purchase"
ACTIVITIES = (ANY, PURCHASE)


@dataclass
class Retention:
    grain: str
    basis: str
    activity: str
    rows: list[dict] = field(default_factory=list)


@dataclass
class Dormancy:
    grain: str
    dormant_days: int
    rows: list[dict] = field(default_factory=list)


def _events(workspace: Workspace, kind: str, event: str | None) -> tuple[str, list]:
    """``(profile_id, at)`` rows of activity or of purchases, and their
    parameters; activity needs the ``kinds`` CTE in the query's WITH."""
    select = "SELECT e.profile_id, e.timestamp AS at FROM events_event e"
    if kind == PURCHASE:
        goal = purchase(workspace, event=event)
        return f"{select} WHERE {EVENT_ROWS} AND e.name = %s", [workspace.pk, goal.event]
    return (
        f"{select} LEFT JOIN kinds k ON k.name = e.name"
        f" WHERE {EVENT_ROWS} AND COALESCE(k.activity, 1) = 1",
        [workspace.pk],
    )


def _first_instant(grain: str, period: int) -> datetime:
    """When ``period`` begins, UTC; the last instant there is past the last period."""
    try:
        return datetime.combine(periods.first_day(grain, period), time.min, tzinfo=UTC)
    except (ValueError, OverflowError):
        return datetime.max.replace(tzinfo=UTC)


def cells(
    workspace: Workspace,
    *,
    grain: str,
    basis: str,
    activity: str,
    cohorts: tuple[int, int],
    until: int,
    since: int | None = None,
    event: str | None = None,
) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Cohort sizes ``{cohort: n}`` and active counts ``{(cohort, period): n}``
    for cohorts in ``cohorts`` and periods up to ``until``; with ``since``,
    only periods from ``since`` on (and the sizes of cohorts from ``since``):
    what the rollups do not hold yet."""
    sql = Dialect(connection)
    kinds, kind_params = activity_kinds(workspace)
    any_events = _events(workspace, ANY, event)
    buy_events = _events(workspace, PURCHASE, event)
    first_sql, first_params = any_events if basis == FIRST_SEEN else buy_events
    active_sql, active_params = any_events if activity == ANY else buy_events
    low = cohorts[0] if since is None else max(since, cohorts[0])
    recent = ""
    recent_params: list = []
    if low > cohorts[0]:
        # Only customers active since ``low`` can add a cell there, and only
        # those first seen since then can be in a cohort counted there: their
        # first period is looked up alone, not every customer's.
        recent = "WHERE f.profile_id IN (SELECT profile_id FROM active)"
        if first_sql != active_sql:
            fresh = f"SELECT r.profile_id FROM ({first_sql}) r WHERE r.at >= %s"  # noqa: S608 - fixed SQL
            recent += f" OR f.profile_id IN ({fresh})"
            recent_params = [*first_params, sql.ts(_first_instant(grain, low))]
    # Periods are computed from timestamps once filtered by time (an index
    # range), and a cohort from each customer's first timestamp, not per event.
    query = f"""
        WITH {kinds},
        active AS (
            SELECT DISTINCT a.profile_id, {periods.index_sql(sql, grain, "a.at")} AS p
            FROM ({active_sql}) a WHERE a.at >= %s AND a.at < %s
        ),
        base AS (
            SELECT f.profile_id, {periods.index_sql(sql, grain, "MIN(f.at)")} AS cohort
            FROM ({first_sql}) f {recent} GROUP BY f.profile_id
        ),
        chosen AS (SELECT * FROM base WHERE cohort BETWEEN %s AND %s)
        SELECT c.cohort, a.p, COUNT(*) AS n FROM chosen c
        JOIN active a ON a.profile_id = c.profile_id AND a.p >= c.cohort
        GROUP BY c.cohort, a.p
        UNION ALL
        SELECT cohort, NULL, COUNT(*) FROM chosen WHERE cohort >= %s GROUP BY cohort
    """  # noqa: S608 - fixed SQL pieces; values are parameters
    params = [
        *kind_params,
        *active_params,
        sql.ts(_first_instant(grain, low)),
        sql.ts(_first_instant(grain, until + 1)),
        *first_params,
        *recent_params,
        *cohorts,
        low,
    ]
    sizes: dict[int, int] = {}
    active: dict[tuple[int, int], int] = {}
    for row in fetch(query, params):
        if row["p"] is None:
            sizes[row["cohort"]] = row["n"]
        else:
            active[(row["cohort"], row["p"])] = row["n"]
    return sizes, active


def retention(
    workspace: Workspace,
    *,
    start: date,
    end: date,
    grain: str = periods.MONTH,
    basis: str = FIRST_SEEN,
    activity: str = ANY,
    event: str | None = None,
) -> Retention:
    result = Retention(grain=grain, basis=basis, activity=activity)
    if start > end:
        return result
    # No activity is recorded after today: later periods would only add zeros.
    first = periods.index_of(grain, start)
    last = periods.index_of(grain, min(end, timezone.now().date()))
    if first > last:
        return result
    key = rollups.retention_key(workspace, grain=grain, basis=basis, activity=activity, event=event)
    sizes, active, since = rollups.read_retention(workspace, key, cohorts=(first, last), until=last)
    if since <= last:
        live_sizes, live_active = cells(
            workspace,
            grain=grain,
            basis=basis,
            activity=activity,
            cohorts=(first, last),
            until=last,
            since=since,
            event=event,
        )
        sizes.update(live_sizes)
        active.update(live_active)
    for cohort in sorted(sizes):
        size = sizes[cohort]
        counts = [active.get((cohort, p), 0) for p in range(cohort, last + 1)]
        result.rows.append(
            {
                "cohort": periods.first_day(grain, cohort).isoformat(),
                "size": size,
                "active": counts,
                "rates": [ratio(n, size) for n in counts],
            }
        )
    return result


def dormant(
    workspace: Workspace, *, start: date, end: date, grain: str = periods.MONTH
) -> Dormancy:
    threshold = dormant_days(workspace)
    result = Dormancy(grain=grain, dormant_days=threshold)
    end = min(end, timezone.now().date())
    if start > end:
        return result
    sql = Dialect(connection)
    kinds, kind_params = activity_kinds(workspace)
    first = fetch(
        f"SELECT MIN(e.timestamp) AS first FROM events_event e WHERE {EVENT_ROWS}",  # noqa: S608 - fixed SQL
        [workspace.pk],
    )[0]["first"]
    if first is None:
        return result
    # Periods before the workspace's first event would all read zero.
    start = max(start, _as_date(first))
    if start > end:
        return result
    ends = _period_ends(grain, start, end)
    # A customer is dormant at ``at`` when one of their gaps between activity
    # days (or the time since their last) covers it and began at least the
    # threshold earlier: only gaps longer than the threshold can, so the range
    # join reads about one row per customer, not one per activity day.
    pairs = []
    for at in ends:
        cutoff = at - timedelta(days=threshold) if at.toordinal() > threshold else None
        pairs += [_day_param(sql, at), _day_param(sql, cutoff)]
    cast = "CAST(%s AS date)" if sql.pg else "%s"
    values = ", ".join([f"({cast}, {cast})"] * len(ends))
    days = sql.day("e.timestamp")
    query = f"""
        WITH {kinds},
        ends(at, cutoff) AS (VALUES {values}),
        days AS (
            SELECT DISTINCT e.profile_id, {days} AS day FROM events_event e
            LEFT JOIN kinds k ON k.name = e.name
            WHERE {EVENT_ROWS} AND COALESCE(k.activity, 1) = 1 AND e.timestamp <= %s
        ),
        spans AS (
            SELECT profile_id, day, LEAD(day) OVER (PARTITION BY profile_id ORDER BY day) AS next
            FROM days
        )
        SELECT 'seen' AS kind, first AS day, COUNT(*) AS n
        FROM (SELECT MIN(day) AS first FROM days GROUP BY profile_id) f GROUP BY first
        UNION ALL
        SELECT 'dormant', t.at, COUNT(*) FROM ends t
        JOIN spans s ON s.day <= t.cutoff AND (s.next IS NULL OR s.next > t.at)
        GROUP BY t.at
    """  # noqa: S608 - fixed SQL pieces; values are parameters
    last = datetime.combine(end, time.max, tzinfo=UTC)
    rows = fetch(query, [*kind_params, *pairs, workspace.pk, sql.ts(last)])
    firsts = sorted((_as_date(r["day"]), r["n"]) for r in rows if r["kind"] == "seen")
    dormant_at = {_as_date(r["day"]): r["n"] for r in rows if r["kind"] == "dormant"}
    for at in ends:
        seen = sum(n for first, n in firsts if first <= at)
        if not seen:
            continue
        count = dormant_at.get(at, 0)
        result.rows.append(
            {"at": at.isoformat(), "customers": seen, "dormant": count, "share": count / seen}
        )
    return result


def _period_ends(grain: str, start: date, end: date) -> list[date]:
    """The last day of each period from ``start``'s to ``end``'s (``end``
    itself for the last), skipping none: callers bound the range first."""
    ends = []
    index = periods.index_of(grain, start)
    while True:
        try:
            last_day = periods.first_day(grain, index + 1) - timedelta(days=1)
        except (ValueError, OverflowError):
            last_day = date.max
        ends.append(min(last_day, end))
        if last_day >= end:
            return ends
        index += 1


def _as_date(value) -> date:
    """A date from a DATE or timestamp column (SQLite returns text)."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value[:10])


def _day_param(sql: Dialect, day: date | None):
    return day if sql.pg or day is None else day.isoformat()
