"""Channels: delivery, open, click, reply, unsubscribe and complaint rates.

Over the messages sent (``sent_at``) between ``start`` and the end of
``end``, per channel: ``sent``; ``delivered``, those the provider reported
delivered or that were opened, clicked or replied to (which proves
delivery, and some providers report nothing else); ``opened``, ``clicked``,
``replied``, ``bounced``, ``unsubscribed``, ``complained``: those with that
signal (the message's timestamps, which delivery webhooks and tracking set).
Each ``<signal>_rate`` is its count / sent.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from engage.dialect import Dialect
from engage.workspaces.models import Workspace

from .window import Window, fetch, ratio

SIGNALS = ("delivered", "opened", "clicked", "replied", "bounced", "unsubscribed", "complained")


@dataclass
class Channels:
    rows: list[dict] = field(default_factory=list)


def channels(workspace: Workspace, *, start: date, end: date) -> Channels:
    result = Channels()
    if start > end:
        return result
    sql = Dialect(connection)
    delivered = (
        "COUNT(CASE WHEN delivered_at IS NOT NULL OR opened_at IS NOT NULL"
        " OR clicked_at IS NOT NULL OR replied_at IS NOT NULL THEN 1 END) AS delivered"
    )
    others = ", ".join(f"COUNT({signal}_at) AS {signal}" for signal in SIGNALS[1:])
    query = f"""
        SELECT channel, COUNT(*) AS sent, {delivered}, {others}
        FROM messaging_message
        WHERE workspace_id = %s AND sent_at >= %s AND sent_at <= %s
        GROUP BY channel ORDER BY channel
    """  # noqa: S608 - fixed SQL pieces; values are parameters
    for row in fetch(query, [workspace.pk, *Window(start, end).params(sql)]):
        out = {"channel": row["channel"], "sent": row["sent"]}
        for signal in SIGNALS:
            out[signal] = row[signal]
            out[f"{signal}_rate"] = ratio(row[signal], row["sent"])
        result.rows.append(out)
    return result
