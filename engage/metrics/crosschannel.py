"""Cross-channel: does engaging on more channels go with converting?

A customer *engaged* on a channel in the range (``start`` to the end of
``end``) when, in it, they opened, clicked or replied to a message of that
channel (each implies it was delivered), or sent a message in on that
channel (an inbound "<label> Message Received" event). Customers who were
sent a message in the range but engaged on no channel are the ``0`` group.

A customer *converted* when they made a purchase (the workspace's RFM
purchase event, or the request's ``event``) in the range.

``rows`` hold, per ``group``:

- ``channels``, ``key`` ``0``, ``1``, ``2`` or ``3+``: the customers by the
  number of channels they engaged on;
- ``journey``, ``key`` the journey's id: the customers who engaged with a
  message that journey sent;

each with ``customers``, ``converted`` and ``conversion_rate`` = converted / customers.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from engage.dialect import Dialect
from engage.journeys.models import Journey
from engage.workspaces.models import Workspace

from .definitions import INBOUND_SUFFIX, purchase
from .window import EVENT_ROWS, Window, fetch, ratio

BUCKETS = ("0", "1", "2", "3+")


@dataclass
class CrossChannel:
    event: str
    rows: list[dict] = field(default_factory=list)


def crosschannel(
    workspace: Workspace, *, start: date, end: date, event: str | None = None
) -> CrossChannel:
    goal = purchase(workspace, event=event)
    result = CrossChannel(event=goal.event)
    if start > end:
        return result
    sql = Dialect(connection)
    start_at, end_at = Window(start, end).params(sql)
    responded = " OR ".join(
        f"(m.{signal}_at >= %s AND m.{signal}_at <= %s)"
        for signal in ("opened", "clicked", "replied")
    )
    query = f"""
        WITH engaged AS (
            SELECT m.profile_id, m.channel, m.journey_id FROM messaging_message m
            WHERE m.workspace_id = %s AND ({responded})
            UNION
            SELECT e.profile_id, e.channel, NULL FROM events_event e
            WHERE {EVENT_ROWS} AND e.name LIKE %s AND e.channel <> ''
              AND e.timestamp >= %s AND e.timestamp <= %s
        ),
        reached AS (
            SELECT profile_id FROM messaging_message
            WHERE workspace_id = %s AND sent_at >= %s AND sent_at <= %s
            UNION SELECT profile_id FROM engaged
        ),
        converted AS (
            SELECT DISTINCT e.profile_id FROM events_event e
            WHERE {EVENT_ROWS} AND e.name = %s AND e.timestamp >= %s AND e.timestamp <= %s
        ),
        counted AS (
            SELECT r.profile_id, COUNT(DISTINCT g.channel) AS n,
                   MAX(CASE WHEN c.profile_id IS NULL THEN 0 ELSE 1 END) AS converted
            FROM reached r
            LEFT JOIN engaged g ON g.profile_id = r.profile_id
            LEFT JOIN converted c ON c.profile_id = r.profile_id
            GROUP BY r.profile_id
        )
        SELECT 'channels' AS grp, CASE WHEN n >= 3 THEN '3+' ELSE CAST(n AS TEXT) END AS k,
               COUNT(*) AS customers, SUM(converted) AS converted
        FROM counted GROUP BY CASE WHEN n >= 3 THEN '3+' ELSE CAST(n AS TEXT) END
        UNION ALL
        SELECT 'journey', CAST(j.journey_id AS TEXT), COUNT(*),
               SUM(CASE WHEN c.profile_id IS NULL THEN 0 ELSE 1 END)
        FROM (SELECT DISTINCT profile_id, journey_id FROM engaged
              WHERE journey_id IS NOT NULL) j
        LEFT JOIN converted c ON c.profile_id = j.profile_id
        GROUP BY j.journey_id
    """  # noqa: S608 - fixed SQL pieces; values are parameters
    params = [
        workspace.pk,
        *[start_at, end_at] * 3,
        workspace.pk,
        f"%{INBOUND_SUFFIX}",
        start_at,
        end_at,
        workspace.pk,
        start_at,
        end_at,
        workspace.pk,
        goal.event,
        start_at,
        end_at,
    ]
    rows = fetch(query, params)
    found = {(row["grp"], row["k"]): row for row in rows}
    names = dict(
        Journey.objects.filter(
            workspace=workspace, pk__in=[int(r["k"]) for r in rows if r["grp"] == "journey"]
        ).values_list("pk", "name")
    )
    for bucket in BUCKETS:
        row = found.get(("channels", bucket), {"customers": 0, "converted": 0})
        result.rows.append(_row("channels", bucket, "", row))
    for row in sorted((r for r in rows if r["grp"] == "journey"), key=lambda r: int(r["k"])):
        result.rows.append(_row("journey", row["k"], names.get(int(row["k"]), ""), row))
    return result


def _row(group: str, key: str, label: str, row: dict) -> dict:
    converted = int(row["converted"] or 0)
    return {
        "group": group,
        "key": key,
        "label": label,
        "customers": row["customers"],
        "converted": converted,
        "conversion_rate": ratio(converted, row["customers"]),
    }
