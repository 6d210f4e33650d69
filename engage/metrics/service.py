"""Service: repeat contact after a solved ticket, and context kept across channels.

**Repeat contact.** Of the customers with a ``Ticket Solved`` event between
``start`` and the end of ``end`` (``solved_customers``), those who contacted
support again within ``repeat_days`` (7) after one of those solves: a
``Ticket Opened`` event or an inbound message ("<label> Message Received"),
later than the solve and at most ``repeat_days`` days after it
(``repeat_customers``). ``repeat_contact_rate`` = repeat / solved.

**Context retention.** A *conversation* starts with an inbound message in the
range that follows no other inbound message of the same customer (on any
channel) in the ``context_hours`` (24) before it. It is *continued on a
second channel* when the same customer sends an inbound message on another
channel within ``context_hours`` after that start: the thread engage keeps
per customer, not per channel, is what the agent or bot sees there.
``context_retention`` = continued / conversations.

``rows`` repeat both as ``measure``, ``of``, ``count`` and ``rate`` (for CSV).
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from engage.dialect import Dialect
from engage.workspaces.models import Workspace

from .definitions import INBOUND_SUFFIX, TICKET_OPENED, TICKET_SOLVED
from .window import EVENT_ROWS, Window, fetch, ratio

DEFAULT_REPEAT_DAYS = 7
DEFAULT_CONTEXT_HOURS = 24


@dataclass
class Service:
    repeat_days: int
    context_hours: int
    solved_customers: int = 0
    repeat_customers: int = 0
    repeat_contact_rate: float | None = None
    conversations: int = 0
    continued: int = 0
    context_retention: float | None = None
    rows: list[dict] = field(default_factory=list)


def service(
    workspace: Workspace,
    *,
    start: date,
    end: date,
    repeat_days: int = DEFAULT_REPEAT_DAYS,
    context_hours: int = DEFAULT_CONTEXT_HOURS,
) -> Service:
    result = Service(repeat_days=repeat_days, context_hours=context_hours)
    if start <= end:
        _count(workspace, result, Window(start, end))
    result.repeat_contact_rate = ratio(result.repeat_customers, result.solved_customers)
    result.context_retention = ratio(result.continued, result.conversations)
    result.rows = [
        {
            "measure": "repeat_contact",
            "of": result.solved_customers,
            "count": result.repeat_customers,
            "rate": result.repeat_contact_rate,
        },
        {
            "measure": "context_retention",
            "of": result.conversations,
            "count": result.continued,
            "rate": result.context_retention,
        },
    ]
    return result


def _count(workspace: Workspace, result: Service, window: Window) -> None:
    sql = Dialect(connection)
    start_at, end_at = window.params(sql)
    after_solve = sql.days_between("c.timestamp", "s.timestamp")
    gap = sql.days_between("i.timestamp", "i.prev")
    after = sql.days_between("n.timestamp", "s.timestamp")
    # Joins on the customer, not correlated subqueries: each customer has a
    # handful of tickets and inbound messages, so the hash joins stay small
    # where a probe per row into a CTE (which has no index) was quadratic.
    query = f"""
        WITH solved AS (
            SELECT e.profile_id, e.timestamp FROM events_event e
            WHERE {EVENT_ROWS} AND e.name = %s AND e.timestamp >= %s AND e.timestamp <= %s
        ),
        contact AS (
            SELECT e.profile_id, e.timestamp FROM events_event e
            WHERE {EVENT_ROWS} AND (e.name = %s OR (e.name LIKE %s AND e.channel <> ''))
        ),
        inbound AS (
            SELECT e.id, e.profile_id, e.channel, e.timestamp,
                   LAG(e.timestamp) OVER (
                       PARTITION BY e.profile_id ORDER BY e.timestamp, e.id
                   ) AS prev
            FROM events_event e
            WHERE {EVENT_ROWS} AND e.name LIKE %s AND e.channel <> ''
        ),
        starts AS (
            SELECT i.id, i.profile_id, i.channel, i.timestamp FROM inbound i
            WHERE i.timestamp >= %s AND i.timestamp <= %s
              AND (i.prev IS NULL OR {gap} > %s)
        )
        SELECT 'solved' AS k, COUNT(DISTINCT profile_id) AS n FROM solved
        UNION ALL
        SELECT 'repeat', COUNT(DISTINCT s.profile_id) FROM solved s
        JOIN contact c ON c.profile_id = s.profile_id
         AND c.timestamp > s.timestamp AND {after_solve} <= %s
        UNION ALL
        SELECT 'conversations', COUNT(*) FROM starts
        UNION ALL
        SELECT 'continued', COUNT(DISTINCT s.id) FROM starts s
        JOIN inbound n ON n.profile_id = s.profile_id AND n.channel <> s.channel
         AND n.timestamp > s.timestamp AND {after} <= %s
    """  # noqa: S608 - fixed SQL pieces; values are parameters
    hours = result.context_hours / 24.0
    like = f"%{INBOUND_SUFFIX}"
    params = [
        workspace.pk,
        TICKET_SOLVED,
        start_at,
        end_at,
        workspace.pk,
        TICKET_OPENED,
        like,
        workspace.pk,
        like,
        start_at,
        end_at,
        hours,
        result.repeat_days,
        hours,
    ]
    counts = {row["k"]: row["n"] for row in fetch(query, params)}
    result.solved_customers, result.repeat_customers = counts["solved"], counts["repeat"]
    result.conversations, result.continued = counts["conversations"], counts["continued"]
