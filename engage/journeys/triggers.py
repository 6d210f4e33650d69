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

from engage.segments.conditions import event as event_condition
from engage.segments.membership import ENTERED, EXITED

from . import entry
from .incoming import Chunk, Seen


def apply(chunk: Chunk) -> int:
    """Enroll the customers the chunk's events trigger into each live
    journey (one entry per journey); returns how many entered."""
    entered = 0
    for journey in chunk.journeys:
        trigger = journey.live_version.definition.get("trigger") or {}
        firsts: dict[int, int] = {}
        for seen in chunk.events:
            if seen.workspace_id == journey.workspace_id and fires(trigger, seen, chunk.now):
                firsts.setdefault(seen.profile_id, seen.id)
        if firsts:
            result = entry.enroll(
                journey=journey,
                profile_ids=list(firsts),
                now=chunk.now,
                trigger_event_ids=firsts,
            )
            entered += len(result.entered)
    return entered


def fires(trigger: dict, seen: Seen, now) -> bool:
    if "event" in trigger:
        body = {"name": trigger["event"], "where": trigger.get("where", [])}
        return event_condition.matches(body, seen, now=now)
    if "segment" in trigger:
        name = EXITED if trigger.get("on") == "leave" else ENTERED
        return seen.name == name and seen.properties.get("segment_id") == trigger["segment"]
    return False
