"""Customers let into journeys by the events that trigger them.

- ``{"event": name, "where": [...]}``: the event, its properties passing
  every filter (``segments.conditions.event.matches``, the same test a
  segment's SQL makes);
- ``{"segment": id, "on": "enter" | "leave"}``: the segments app's
  ``segment_entered`` / ``segment_exited`` event for that segment;
- ``{"manual": true}``: nothing here; an operator enrolls customers by hand.

A customer's first triggering event of the chunk lets them in; the entry
rules (``entry.enroll``) decide, and the ledger's ``enter`` row names the event.
"""

from collections import defaultdict

from engage.segments.conditions import event as event_condition
from engage.segments.membership import ENTERED, EXITED

from . import entry
from .incoming import Chunk, Seen


def apply(chunk: Chunk) -> int:
    """Enroll the customers the chunk's events trigger into each live
    journey (one entry for all the journeys); returns how many entered."""
    by_name: dict[str, list[Seen]] = defaultdict(list)
    for seen in chunk.events:
        by_name[seen.name].append(seen)
    triggered = {}
    for journey in chunk.journeys:
        trigger = journey.live_version.definition.get("trigger") or {}
        firsts: dict[int, int] = {}
        for seen in by_name.get(_listens_to(trigger), ()):
            if seen.workspace_id == journey.workspace_id and fires(trigger, seen, chunk.now):
                firsts.setdefault(seen.profile_id, seen.id)
        if firsts:
            triggered[journey] = firsts
    if not triggered:
        return 0
    results = entry.enroll_many(triggered, now=chunk.now)
    return sum(len(result.rows) for result in results.values())


def _listens_to(trigger: dict) -> str | None:
    """The only event name that can fire ``trigger``."""
    if "event" in trigger:
        return trigger["event"]
    if "segment" in trigger:
        return EXITED if trigger.get("on") == "leave" else ENTERED
    return None


def fires(trigger: dict, seen: Seen, now) -> bool:
    if "event" in trigger:
        body = {"name": trigger["event"], "where": trigger.get("where", [])}
        return event_condition.matches(body, seen, now=now)
    if "segment" in trigger:
        name = EXITED if trigger.get("on") == "leave" else ENTERED
        return seen.name == name and seen.properties.get("segment_id") == trigger["segment"]
    return False
