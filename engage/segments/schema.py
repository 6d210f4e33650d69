"""The segment rule tree: node kinds, operators, limits, and walkers over a tree.

docs/segments.md documents the format for operators and API clients. Each
leaf condition (trait, event, …) is one module of ``conditions``;
``validation``, ``compiler`` and ``summary`` walk the groups here and hand
each leaf to its module.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

GROUP_KINDS = ("and", "or")
NOT = "not"
# A reference to another segment: validation follows references for cycles.
SEGMENT = "segment"

# Operators on a JSON value (a trait, or a property of an event), by the value
# they take.
SCALAR_OPS = ("equals", "not_equals")
LIST_OPS = ("in", "not_in")
CONTAINS_OPS = ("contains",)
PRESENCE_OPS = ("exists", "not_exists")
NUMBER_OPS = ("gt", "gte", "lt", "lte")
RANGE_OPS = ("between",)
DATE_OPS = ("before", "after")
RELATIVE_DATE_OPS = ("more_than_days_ago", "within_last_days")
VALUE_OPS = (
    *SCALAR_OPS,
    *LIST_OPS,
    *CONTAINS_OPS,
    *PRESENCE_OPS,
    *NUMBER_OPS,
    *RANGE_OPS,
    *DATE_OPS,
    *RELATIVE_DATE_OPS,
)

# A trait or property path: names separated by dots (``address.city``).
PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
# Date values are ISO-8601 text; anything not starting like a date never matches.
DATE_PREFIX = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")

MAX_DEPTH = 12
MAX_NODES = 200
MAX_LIST_VALUES = 1000
MAX_DAYS = 36600


def node_kind(node: dict) -> str:
    """The kind of a validated node (its only key)."""
    return next(iter(node))


def walk(node: dict) -> Iterator[dict]:
    """Every node of a validated tree, the root first."""
    yield node
    kind = node_kind(node)
    if kind in GROUP_KINDS:
        for child in node[kind]:
            yield from walk(child)
    elif kind == NOT:
        yield from walk(node[NOT])


def referenced_segment_ids(rules: dict | None) -> set[int]:
    if not rules:
        return set()
    return {n[SEGMENT]["id"] for n in walk(rules) if node_kind(n) == SEGMENT}


@dataclass(frozen=True)
class Dependencies:
    """What can change a segment's answer for a profile, stored with the segment.

    The real-time re-check compares an event batch against it: a segment is
    re-checked for a profile only when one of its event names was received,
    one of its trait keys was set, or the profile changed identity or consent
    (``profile_data``). ``time_dependent`` segments can change with no event at
    all (a window slides) and are refreshed by the periodic task instead.
    """

    event_names: frozenset[str]
    trait_keys: frozenset[str]
    profile_data: bool
    time_dependent: bool

    def as_json(self) -> dict:
        return {
            "event_names": sorted(self.event_names),
            "trait_keys": sorted(self.trait_keys),
            "profile_data": self.profile_data,
            "time_dependent": self.time_dependent,
        }

    def __or__(self, other: "Dependencies") -> "Dependencies":
        """What can change either of two conditions (and so a tree holding both)."""
        return Dependencies(
            event_names=self.event_names | other.event_names,
            trait_keys=self.trait_keys | other.trait_keys,
            profile_data=self.profile_data or other.profile_data,
            time_dependent=self.time_dependent or other.time_dependent,
        )
