"""The definition of a journey version, and the helpers every part reads it with.

A definition is one JSON object::

    {
      "trigger": {"event": "Cart Updated", "where": [<property filter>, ...]}
               | {"segment": 12, "on": "enter" | "leave"}
               | {"manual": true},
      "entry": {"reentry": "never" | "always" | "after", "after_days": 30,
                "daily_limit": 1000},                    # all optional
      "goal": {"event": "Order Completed", "where": [...], "within_hours": 72},  # optional
      "exit": {"leaves_segment": true, "when": <segment rule tree>},             # optional
      "start": "welcome",
      "nodes": {
        "welcome": {"type": "send", "channel": "email", "template": "welcome",
                    "category": "marketing", "next": "pause"},
        "pause":   {"type": "wait", "duration": {"days": 2}, "next": "vip"},
        "vip":     {"type": "branch", "condition": <segment rule tree>,
                    "next": {"yes": "offer", "no": "done"}},
        ...
      }
    }

Property filters (``where``) are the segment rule language's event filters
(``{"property": "total", "op": "gt", "value": 50}``).

Nodes are keyed by id (1 to 64 characters of letters, digits, ``_`` and ``-``).
Every node has a ``type`` (a key of ``nodes.NODE_TYPES``) and may have a
``next``: a node id when the node has one way out (the edge ``next``), or an
object mapping each of the node type's outcomes to a node id. An outcome
with no node ends the enrollment as ``completed``, as does a node without
``next``. Durations are objects of ``days``, ``hours``, ``minutes`` and
``seconds`` (non-negative integers, more than zero in total).
"""

import datetime
import re

NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NEXT = "next"
DURATION_UNITS = ("days", "hours", "minutes", "seconds")
MAX_DURATION = datetime.timedelta(days=366)


def edges(node: dict) -> dict[str, str]:
    """The node's ways out, as ``{outcome: node id}`` (``{"next": id}`` for one)."""
    target = node.get(NEXT)
    if target is None:
        return {}
    if isinstance(target, str):
        return {NEXT: target}
    return dict(target)


def duration(value: dict) -> datetime.timedelta:
    """A validated duration object as a timedelta."""
    return datetime.timedelta(**{unit: value.get(unit, 0) for unit in DURATION_UNITS})


def duration_errors(value, path: str) -> list[str]:
    """Why ``value`` is not a duration, as ``path: reason`` strings (none if it is)."""
    if not isinstance(value, dict) or not value:
        return [f"{path}: must be an object of {', '.join(DURATION_UNITS)}"]
    errors = []
    for unit, amount in value.items():
        if unit not in DURATION_UNITS:
            errors.append(f"{path}.{unit}: unknown unit (use {', '.join(DURATION_UNITS)})")
        elif isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            errors.append(f"{path}.{unit}: must be a non-negative integer")
    if errors:
        return errors
    total = duration(value)
    if total <= datetime.timedelta(0):
        return [f"{path}: must be longer than zero"]
    if total > MAX_DURATION:
        return [f"{path}: must be at most {MAX_DURATION.days} days"]
    return []
