"""Purchases: repeat purchase rate, time to the second purchase, purchase frequency.

**Buyers** are the customers whose first purchase ever (the workspace's RFM
purchase event, or the request's ``event``) falls between ``start`` and the
end of ``end``. Of them, ``repeat_buyers`` made a second purchase by the end
of ``end``; ``repeat_rate`` = repeat_buyers / buyers.

The time to the second purchase is in days (fractional) from the first
purchase to the second: its ``median_days`` (the middle value, or the mean
of the two middle ones) and its distribution in ``buckets``: up to 7 days,
7-30, 30-60, 60-90, 90-180 and over 180 (``rows``, each bucket's count and
share of the repeat buyers; a bucket holds the days above the previous
bound up to its own).

``purchase_frequency`` = purchases between ``start`` and ``end`` / customers
with a purchase then (``orders``, ``purchasers``).
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from engage.dialect import Dialect
from engage.workspaces.models import Workspace

from .definitions import purchase
from .window import EVENT_ROWS, Window, fetch, ratio

# Upper bounds of the buckets in days; the last bucket has none.
BUCKETS = (7, 30, 60, 90, 180)


@dataclass
class Purchases:
    event: str
    buyers: int = 0
    repeat_buyers: int = 0
    repeat_rate: float | None = None
    median_days: float | None = None
    orders: int = 0
    purchasers: int = 0
    purchase_frequency: float | None = None
    rows: list[dict] = field(default_factory=list)


def _labels() -> list[str]:
    lows = [0, *BUCKETS]
    labels = [f"{low}-{high}" for low, high in zip(lows, BUCKETS, strict=False)]
    return [*labels, f"over {BUCKETS[-1]}"]


def purchases(
    workspace: Workspace, *, start: date, end: date, event: str | None = None
) -> Purchases:
    goal = purchase(workspace, event=event)
    result = Purchases(event=goal.event)
    labels = _labels()
    if start > end:
        result.rows = [{"bucket": label, "repeat_buyers": 0, "share": None} for label in labels]
        return result
    sql = Dialect(connection)
    start_at, end_at = Window(start, end).params(sql)
    gap = sql.days_between("second_at", "first_at")
    cases = " ".join(f"WHEN days <= {bound} THEN {i}" for i, bound in enumerate(BUCKETS))
    query = f"""
        WITH buys AS (
            SELECT e.profile_id, e.timestamp AS at,
                   ROW_NUMBER() OVER (PARTITION BY e.profile_id ORDER BY e.timestamp, e.id) AS rn
            FROM events_event e WHERE {EVENT_ROWS} AND e.name = %s AND e.timestamp <= %s
        ),
        firsts AS (
            SELECT b1.profile_id, b1.at AS first_at, b2.at AS second_at
            FROM buys b1 LEFT JOIN buys b2 ON b2.profile_id = b1.profile_id AND b2.rn = 2
            WHERE b1.rn = 1 AND b1.at >= %s
        ),
        gaps AS (SELECT {gap} AS days FROM firsts WHERE second_at IS NOT NULL),
        ordered AS (
            SELECT days, ROW_NUMBER() OVER (ORDER BY days) AS rn, COUNT(*) OVER () AS n
            FROM gaps
        )
        SELECT 'buyers' AS k, COUNT(*) AS n, NULL AS x FROM firsts
        UNION ALL
        SELECT 'bucket', COUNT(*), CASE {cases} ELSE {len(BUCKETS)} END FROM gaps
        GROUP BY CASE {cases} ELSE {len(BUCKETS)} END
        UNION ALL
        SELECT 'median', COUNT(*), AVG(days) FROM ordered
        WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
        UNION ALL
        SELECT 'orders', COUNT(*), COUNT(DISTINCT e.profile_id) FROM events_event e
        WHERE {EVENT_ROWS} AND e.name = %s AND e.timestamp >= %s AND e.timestamp <= %s
    """  # noqa: S608 - fixed SQL pieces; values are parameters
    params = [
        workspace.pk,
        goal.event,
        end_at,
        start_at,
        workspace.pk,
        goal.event,
        start_at,
        end_at,
    ]
    counts = [0] * len(labels)
    for row in fetch(query, params):
        if row["k"] == "buyers":
            result.buyers = row["n"]
        elif row["k"] == "bucket":
            counts[int(row["x"])] = row["n"]
        elif row["k"] == "median" and row["n"]:
            result.median_days = float(row["x"])
        elif row["k"] == "orders":
            result.orders, result.purchasers = row["n"], int(row["x"])
    result.repeat_buyers = sum(counts)
    result.repeat_rate = ratio(result.repeat_buyers, result.buyers)
    result.purchase_frequency = ratio(result.orders, result.purchasers)
    result.rows = [
        {"bucket": label, "repeat_buyers": n, "share": ratio(n, result.repeat_buyers)}
        for label, n in zip(labels, counts, strict=True)
    ]
    return result
