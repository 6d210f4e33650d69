"""Attribution: which messages get the credit for conversions.

A conversion is a purchase event (the workspace's RFM purchase event, or the
request's ``event``) between ``start`` and the end of ``end``; its revenue is
the event's ``revenue_property`` (0 when absent or not a number). Its touches
are the messages sent to the same customer (``sent_at``) in the
``window_days`` (7) before it, strictly before it, ordered by send time.
Each conversion's credit (1 conversion, and its revenue) is shared among its
touches by five models:

- ``first_touch``: all to the earliest touch;
- ``last_touch``: all to the latest;
- ``linear``: 1/n to each of n touches;
- ``position``: 40% to the first, 40% to the last, 20% shared by those
  between (one touch: 100%; two: 50% each);
- ``time_decay``: in proportion to 2^(-age / ``half_life_days``) (7), where
  age is the days from the send to the conversion.

Credit is summed per channel, per journey (the message's provenance; '' for
messages not sent by a journey) or per template ('' for none), as ``by``
asks. A conversion without any touch is ``unattributed``; for each model the
credited conversions plus ``unattributed`` equal ``conversions``, and the
credited revenue plus ``unattributed_revenue`` equals ``revenue`` (to float
rounding).

Closed days are read from the daily rollups when the beat task has written
them for these settings; the rest is computed live.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from django.db import connection

from engage.dialect import Dialect
from engage.journeys.models import Journey
from engage.messaging.models import MessageTemplate
from engage.workspaces.models import Workspace

from . import rollups
from .definitions import purchase
from .window import EVENT_ROWS, fetch, ratio

MODELS = ("first_touch", "last_touch", "linear", "position", "time_decay")
DIMENSIONS = ("channel", "journey", "template")
DEFAULT_WINDOW_DAYS = 7
DEFAULT_HALF_LIFE_DAYS = 7.0
# 2^-1000 is still a normal double; beyond it a weight is 0 for any purpose.
MAX_HALVINGS = 1000
TOTALS = ("conversions", "revenue", "unattributed", "unattributed_revenue")


@dataclass
class Attribution:
    event: str
    revenue_property: str
    window_days: int
    half_life_days: float
    by: str
    conversions: int = 0
    revenue: float = 0.0
    unattributed: int = 0
    unattributed_revenue: float = 0.0
    unattributed_share: float | None = None
    rows: list[dict] = field(default_factory=list)


def credits_by_day(
    workspace: Workspace,
    *,
    event: str,
    revenue_property: str,
    window_days: int,
    half_life_days: float,
    start: date,
    end: date,
) -> dict[str, dict]:
    """``{day: {"totals": {...}, "credit": [[by, key, model, conversions, revenue], ...]}}``
    for conversions from ``start`` to ``end``: the unit the rollups store."""
    sql = Dialect(connection)
    revenue, revenue_params = sql.number_property("e.properties", revenue_property)
    age = sql.days_between("c.at", "m.sent_at")
    weights = {
        "first_touch": "CASE WHEN pos = 1 THEN 1.0 ELSE 0.0 END",
        "last_touch": "CASE WHEN pos = n THEN 1.0 ELSE 0.0 END",
        "linear": "1.0 / n",
        "position": "CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5"
        " WHEN pos = 1 OR pos = n THEN 0.4 ELSE 0.2 / (n - 2) END",
        "time_decay": "decay / SUM(decay) OVER (PARTITION BY conv)",
    }
    sums = ", ".join(
        f"SUM(w_{model}) AS {model}, SUM(w_{model} * revenue) AS {model}_revenue"
        for model in MODELS
    )
    nothing = ", ".join(f"NULL AS {model}, NULL AS {model}_revenue" for model in MODELS)
    keys = {
        "channel": "channel",
        "journey": "COALESCE(CAST(journey_id AS TEXT), '')",
        "template": "COALESCE(CAST(template_id AS TEXT), '')",
    }
    credit = " UNION ALL ".join(
        f"SELECT day, '{by}' AS dim, {expr} AS k, {sums} FROM weights GROUP BY day, {expr}"  # noqa: S608 - fixed SQL
        for by, expr in keys.items()
    )
    halvings = sql.least("(age - MIN(age) OVER (PARTITION BY conv)) / %s", str(MAX_HALVINGS))
    day = sql.day("e.timestamp")
    query = f"""
        WITH conv AS (
            SELECT e.id, e.profile_id, e.timestamp AS at, {day} AS day, {revenue} AS revenue
            FROM events_event e
            WHERE {EVENT_ROWS} AND e.name = %s AND e.timestamp >= %s AND e.timestamp <= %s
        ),
        touch AS (
            SELECT c.id AS conv, c.day, c.revenue, m.channel, m.journey_id, m.template_id,
                   ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY m.sent_at, m.id) AS pos,
                   COUNT(*) OVER (PARTITION BY c.id) AS n, {age} AS age
            FROM conv c JOIN messaging_message m
              ON m.profile_id = c.profile_id AND m.workspace_id = %s
             AND m.sent_at IS NOT NULL AND m.sent_at < c.at AND {age} <= %s
        ),
        decayed AS (
            -- Ages counted from the newest touch: the same shares, but the
            -- newest weighs 1 and the exponent is capped, so no power
            -- underflows (an error on PostgreSQL) and the sum is never 0.
            SELECT touch.*, POWER(0.5, {halvings}) AS decay
            FROM touch
        ),
        weights AS (
            SELECT day, revenue, channel, journey_id, template_id,
                   {", ".join(f"{w} AS w_{model}" for model, w in weights.items())}
            FROM decayed
        )
        SELECT c.day, '' AS dim, '' AS k, COUNT(*) AS conversions, SUM(c.revenue) AS revenue,
               SUM(CASE WHEN t.conv IS NULL THEN 1 ELSE 0 END) AS unattributed,
               SUM(CASE WHEN t.conv IS NULL THEN c.revenue ELSE 0 END) AS unattributed_revenue,
               {nothing}
        FROM conv c LEFT JOIN (SELECT DISTINCT conv FROM touch) t ON t.conv = c.id
        GROUP BY c.day
        UNION ALL
        SELECT day, dim, k, NULL, NULL, NULL, NULL,
               {", ".join(f"{model}, {model}_revenue" for model in MODELS)}
        FROM ({credit}) credit
    """  # noqa: S608 - fixed SQL pieces; values are parameters
    start_at = datetime.combine(start, time.min, tzinfo=UTC)
    end_at = datetime.combine(end, time.max, tzinfo=UTC)
    params = [
        *revenue_params,
        workspace.pk,
        event,
        sql.ts(start_at),
        sql.ts(end_at),
        workspace.pk,
        window_days,
        half_life_days,
    ]
    days: dict[str, dict] = defaultdict(lambda: {"totals": dict.fromkeys(TOTALS, 0), "credit": []})
    for row in fetch(query, params):
        key = str(row["day"])[:10]
        if row["dim"] == "":
            days[key]["totals"] = {name: row[name] or 0 for name in TOTALS}
        else:
            for model in MODELS:
                days[key]["credit"].append(
                    [row["dim"], row["k"], model, row[model], row[f"{model}_revenue"]]
                )
    return dict(days)


def attribution(
    workspace: Workspace,
    *,
    start: date,
    end: date,
    by: str = "channel",
    event: str | None = None,
    revenue_property: str | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> Attribution:
    goal = purchase(workspace, event=event, revenue_property=revenue_property)
    result = Attribution(
        event=goal.event,
        revenue_property=goal.revenue_property,
        window_days=window_days,
        half_life_days=half_life_days,
        by=by,
    )
    if start > end:
        return result
    settings = {
        "event": goal.event,
        "revenue_property": goal.revenue_property,
        "window_days": window_days,
        "half_life_days": half_life_days,
    }
    key = rollups.attribution_key(**settings)
    days, live_from = rollups.read_days(workspace, rollups.ATTRIBUTION, key, start=start, end=end)
    if live_from is not None:
        days.update(credits_by_day(workspace, **settings, start=live_from, end=end))
    credit: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for data in days.values():
        result.conversions += data["totals"]["conversions"]
        result.revenue += data["totals"]["revenue"]
        result.unattributed += data["totals"]["unattributed"]
        result.unattributed_revenue += data["totals"]["unattributed_revenue"]
        for dim, key, model, conversions, revenue in data["credit"]:
            if dim == by:
                credit[key][model] += conversions
                credit[key][f"{model}_revenue"] += revenue
    result.unattributed_share = ratio(result.unattributed, result.conversions)
    labels = _labels(workspace, by, list(credit))
    for key in sorted(credit):
        row = {"key": key, "label": labels.get(key, key)}
        for model in MODELS:
            row[model] = credit[key][model]
            row[f"{model}_revenue"] = credit[key][f"{model}_revenue"]
        result.rows.append(row)
    return result


def _labels(workspace: Workspace, by: str, keys: list[str]) -> dict[str, str]:
    """Names for journey and template ids (a deleted one keeps its id)."""
    if by not in ("journey", "template"):
        return {}
    ids = [int(key) for key in keys if key]
    if by == "journey":
        rows = Journey.objects.filter(workspace=workspace, pk__in=ids).values_list("pk", "name")
    else:
        rows = MessageTemplate.objects.filter(workspace=workspace, pk__in=ids).values_list(
            "pk", "name"
        )
    return {str(pk): name for pk, name in rows}
