"""Value: revenue per customer, historical and predicted lifetime value.

Customers are those *acquired* in the range: their first activity (their
first event that is not one engage wrote itself, such as a send or a
delivery) falls between ``start`` and ``end``. For them, every purchase up
to the end of ``end`` counts (the purchase event and revenue property of the
workspace's RFM settings, or the request's ``event`` / ``revenue_property``;
a purchase without a numeric revenue counts as an order of 0).

Grouped three ways (``group``): by ``cohort`` (the first day of the month of
acquisition), by ``source`` (``context.campaign.source`` of the first
activity, i.e. its utm_source; '' when it had none) and by ``channel``
(the ``channel`` field of the first activity event: where it happened,
such as web or ios; '' when none). Per group:

- ``customers``, ``purchasers`` (with at least one purchase), ``orders``, ``revenue``;
- ``revenue_per_customer`` = revenue / customers: the historical LTV;
- ``average_order_value`` = revenue / orders;
- ``months_observed`` (cohorts only) = calendar months from the cohort's
  month to ``end``'s month (or today's, if earlier), both included;
- ``purchase_frequency`` (cohorts only) = orders / customers / months_observed;
- ``predicted_ltv`` (cohorts only) = average_order_value * purchase_frequency
  * ``lifetime_months`` (an option, 36 by default): what a customer of the
  cohort is worth over an expected lifetime at the pace observed so far.

Totals (``total``) are the same figures over every customer acquired in the range.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.utils import timezone

from engage.dialect import Dialect
from engage.workspaces.models import Workspace

from . import periods
from .definitions import activity_kinds, purchase
from .window import EVENT_ROWS, Window, fetch, json_text, ratio

DEFAULT_LIFETIME_MONTHS = 36
GROUPS = ("cohort", "source", "channel")


@dataclass
class Value:
    lifetime_months: int
    total: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)


def _figures(row: dict) -> dict:
    return {
        "customers": row["customers"],
        "purchasers": int(row["purchasers"] or 0),
        "orders": int(row["orders"] or 0),
        "revenue": float(row["revenue"] or 0),
        "revenue_per_customer": ratio(float(row["revenue"] or 0), row["customers"]),
        "average_order_value": ratio(float(row["revenue"] or 0), row["orders"] or 0),
    }


def value(
    workspace: Workspace,
    *,
    start: date,
    end: date,
    event: str | None = None,
    revenue_property: str | None = None,
    lifetime_months: int = DEFAULT_LIFETIME_MONTHS,
) -> Value:
    sql = Dialect(connection)
    window = Window(start, end)
    goal = purchase(workspace, event=event, revenue_property=revenue_property)
    kinds, kind_params = activity_kinds(workspace)
    revenue, revenue_params = sql.number_property("e.properties", goal.revenue_property)
    source, source_params = json_text(sql, "f.context", ["campaign", "source"])
    cohort = periods.index_sql(sql, periods.MONTH, "f.timestamp")
    query = f"""
        WITH {kinds},
        ranked AS (
            SELECT e.profile_id, e.timestamp, e.channel, e.context,
                   ROW_NUMBER() OVER (PARTITION BY e.profile_id ORDER BY e.timestamp, e.id) AS rn
            FROM events_event e LEFT JOIN kinds k ON k.name = e.name
            WHERE {EVENT_ROWS} AND COALESCE(k.activity, 1) = 1 AND e.timestamp <= %s
        ),
        firsts AS (
            SELECT f.profile_id, {cohort} AS cohort, {source} AS source, f.channel
            FROM ranked f WHERE f.rn = 1 AND f.timestamp >= %s
        ),
        bought AS (
            SELECT e.profile_id, COUNT(*) AS orders, SUM({revenue}) AS revenue
            FROM events_event e
            WHERE {EVENT_ROWS} AND e.name = %s AND e.timestamp <= %s
            GROUP BY e.profile_id
        ),
        customers AS (
            SELECT f.cohort, f.source, f.channel, b.orders, b.revenue
            FROM firsts f LEFT JOIN bought b ON b.profile_id = f.profile_id
        )
        SELECT 'cohort' AS grp, CAST(cohort AS TEXT) AS k, COUNT(*) AS customers,
               COUNT(orders) AS purchasers, SUM(orders) AS orders, SUM(revenue) AS revenue
        FROM customers GROUP BY cohort
        UNION ALL
        SELECT 'source', source, COUNT(*), COUNT(orders), SUM(orders), SUM(revenue)
        FROM customers GROUP BY source
        UNION ALL
        SELECT 'channel', channel, COUNT(*), COUNT(orders), SUM(orders), SUM(revenue)
        FROM customers GROUP BY channel
    """  # noqa: S608 - fixed SQL pieces; values are parameters
    start_at, end_at = window.params(sql)
    params = [
        *kind_params,
        workspace.pk,
        end_at,
        *source_params,
        start_at,
        *revenue_params,
        workspace.pk,
        goal.event,
        end_at,
    ]
    result = Value(lifetime_months=lifetime_months)
    if start > end:
        result.total = _figures({"customers": 0, "purchasers": 0, "orders": 0, "revenue": 0})
        return result
    rows = fetch(query, params)
    end_month = periods.index_of(periods.MONTH, min(end, timezone.now().date()))
    for row in sorted(rows, key=lambda r: (GROUPS.index(r["grp"]), _order(r))):
        figures = _figures(row)
        out = {"group": row["grp"], "key": row["k"], **figures}
        if row["grp"] == "cohort":
            month = int(row["k"])
            observed = max(end_month - month + 1, 1)
            frequency = figures["orders"] / figures["customers"] / observed
            out["key"] = periods.first_day(periods.MONTH, month).isoformat()
            out["months_observed"] = observed
            out["purchase_frequency"] = frequency
            aov = figures["average_order_value"] or 0.0
            out["predicted_ltv"] = aov * frequency * lifetime_months
        result.rows.append(out)
    cohorts = [r for r in rows if r["grp"] == "cohort"]
    result.total = _figures(
        {
            name: sum((r[name] or 0) for r in cohorts)
            for name in ("customers", "purchasers", "orders", "revenue")
        }
    )
    return result


def _order(row: dict):
    return int(row["k"]) if row["grp"] == "cohort" else (row["k"] or "")
