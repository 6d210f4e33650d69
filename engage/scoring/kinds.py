"""Which event names engage wrote itself, for scoring models' SQL.

A model LEFT JOINs events to the ``kinds`` CTE (``Run.kinds``) and uses the
conditions below: a name not in it is something the customer did.
"""

from django.db import connection

from engage.plugins.manager import channels

# Events engage writes itself; they are not something the customer did.
SYSTEM_SUFFIXES = ("Sent", "Delivered", "Bounced", "Failed")
SYSTEM_EVENTS = ("segment_entered", "segment_exited")
RESPONSE_SUFFIXES = ("Opened", "Clicked", "Replied")

# Distinct event names of a workspace, one index probe each on
# (workspace, name, ...): a loose index scan instead of reading every event.
NAMES_SQL = """
    WITH RECURSIVE names(name) AS (
        SELECT MIN(name) FROM events_event WHERE workspace_id = %s
        UNION ALL
        SELECT (SELECT MIN(e.name) FROM events_event e
                WHERE e.workspace_id = %s AND e.name > names.name)
        FROM names WHERE names.name IS NOT NULL
    )
    SELECT name FROM names WHERE name IS NOT NULL
"""


def channel_labels() -> dict[str, str]:
    """{event label: channel id} of the installed channels ("Web Push" → "webpush")."""
    return {cls.event_label(): channel_id for channel_id, cls in channels().items()}


def classify(name: str, labels: dict[str, str]) -> tuple[int, int, int, str] | None:
    """(activity, delivery, response, channel) of an event name engage treats
    specially, or None for a plain customer action.

    Only names that start with an installed channel's label count, so a
    customer's own "Order Delivered" stays an action. "Web Push Opened" is a
    response on channel ``webpush``; "SMS Delivered" a delivery on ``sms``
    and, like every event engage writes, not activity.
    """
    if name in SYSTEM_EVENTS:
        return (0, 0, 0, "")
    head, _, suffix = name.rpartition(" ")
    channel = labels.get(head)
    if channel is None:
        return None
    if suffix == "Delivered":
        return (0, 1, 0, channel)
    if suffix in SYSTEM_SUFFIXES:
        return (0, 0, 0, "")
    if suffix in RESPONSE_SUFFIXES:
        return (1, 0, 1, channel)
    return None


def kinds_cte(workspace_id: int) -> tuple[str, list]:
    """A ``kinds(name, activity, delivery, response, channel)`` CTE of the
    workspace's special event names.

    Models LEFT JOIN events to it: a name not in it is plain activity. Deciding
    this once per name, in Python, keeps string matching out of the per-event
    work (a workspace has dozens of names and millions of events).
    """
    with connection.cursor() as cursor:
        cursor.execute(NAMES_SQL, [workspace_id, workspace_id])
        names = {row[0] for row in cursor.fetchall()} | set(SYSTEM_EVENTS)
    labels = channel_labels()
    rows, params = [], []
    for name in sorted(names):
        kind = classify(name, labels)
        if kind is not None:
            rows.append("(%s, %s, %s, %s, %s)")
            params += [name, *kind]
    return (
        f"kinds(name, activity, delivery, response, channel) AS (VALUES {', '.join(rows)})",
        params,
    )


# Conditions on an event ``e`` LEFT JOINed to ``kinds k``.
IS_ACTIVITY = "(k.name IS NULL OR k.activity = 1)"
IS_DELIVERY = "k.delivery = 1"
IS_RESPONSE = "k.response = 1"
