"""What a chunk of announced events means to journeys, read in a few queries.

``events_recorded`` announces every event once it belongs to a customer, in
chunks of up to ``ANNOUNCE_CHUNK``. ``load`` reads, whatever the chunk's
size: the live journeys of its workspaces (their triggers), the active
enrollments of its customers that an event can end or wake (their goals,
segment exits and waits for an event), and then the properties of only the
events one of those listens to. The first query also says whether any
enrollment could be among them (a version with a goal or a segment exit, a
customer of the chunk waiting for one of its names), so the enrollments are
read only then: a chunk no journey listens to costs that one query (each
segment re-check announces its membership events; a processed batch's
orders cost it and their properties). The customers go to PostgreSQL as one
array, not one parameter each: psycopg converts a list of 500 parameters in
several milliseconds.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from engage.dialect import among
from engage.events.models import Event
from engage.events.signals import RecordedEvent
from engage.segments.membership import ENTERED, EXITED

from .models import Enrollment, Journey, JourneyVersion
from .responses import RESPONSE, response_names

# Parked until an event wakes it.
WAITING = Q(waiting=True, wake_event_id__isnull=True) & ~Q(waiting_for="")


class Seen(NamedTuple):
    """An announced event with its properties (what ``matches`` reads)."""

    id: int
    workspace_id: int
    profile_id: int
    name: str
    timestamp: datetime.datetime
    properties: dict


@dataclass
class Chunk:
    now: datetime.datetime
    journeys: list[Journey]
    enrollments: list[Enrollment]
    events: list[Seen]
    responses: frozenset[str]
    by_profile: dict[int, list[Seen]] = field(default_factory=dict)

    def __post_init__(self):
        grouped = defaultdict(list)
        for seen in self.events:
            grouped[seen.profile_id].append(seen)
        self.by_profile = dict(grouped)

    def events_of(self, profile_id: int) -> list[Seen]:
        """The customer's events of the chunk, in the order they were announced."""
        return self.by_profile.get(profile_id, [])

    def is_response(self, seen: Seen) -> bool:
        return seen.name in self.responses


def load(recorded: list[RecordedEvent]) -> Chunk | None:
    """The chunk as journeys see it, or None when no journey listens to any of it."""
    responses = frozenset(response_names())
    customers = among("profile_id", {e.profile_id for e in recorded})
    chunk_names = {e.name for e in recorded}
    waited_for = [*chunk_names, *([RESPONSE] if chunk_names & responses else [])]
    # Only a live or paused journey has active enrollments (stopping one ends them).
    running = list(
        Journey.objects.filter(
            workspace_id__in={e.workspace_id for e in recorded},
            status__in=(Journey.LIVE, Journey.PAUSED),
        )
        .select_related("live_version")
        .annotate(
            ends=Exists(_ending().filter(journey_id=OuterRef("pk"))),
            wakes=Exists(
                Enrollment.objects.filter(
                    WAITING, customers, waiting_for__in=waited_for, ended_at__isnull=True
                )
            ),
        )
    )
    if not running:
        return None
    journeys = [j for j in running if j.status == Journey.LIVE and j.live_version is not None]
    enrollments = []
    if any(j.ends or j.wakes for j in running):
        enrollments = _enrollments(running, customers)
    names, any_response = _listened(journeys, enrollments)
    wanted = [e for e in recorded if e.name in names or (any_response and e.name in responses)]
    if not wanted:
        return None
    properties = dict(
        Event.objects.filter(pk__in=[e.id for e in wanted]).values_list("pk", "properties")
    )
    events = [
        Seen(e.id, e.workspace_id, e.profile_id, e.name, e.timestamp, properties[e.id])
        for e in wanted
        if e.id in properties
    ]
    return Chunk(timezone.now(), journeys, enrollments, events, responses)


def _ending():
    """The versions whose enrollments an event can end: a goal, a segment exit."""
    return JourneyVersion.objects.filter(
        Q(definition__has_key="goal") | Q(definition__exit__has_key="leaves_segment")
    )


def _enrollments(running: list[Journey], customers: Q) -> list[Enrollment]:
    """Only the enrollments an event can end or wake: a version with a goal or
    a segment exit, or one waiting for an event. Customers who merely stand
    in journeys (most of them, waiting a duration) cost no row."""
    ending = _ending().filter(journey_id__in=[j.pk for j in running if j.ends]).values("pk")
    enrollments = list(
        Enrollment.objects.filter(
            Q(version_id__in=ending) | WAITING,
            customers,
            journey_id__in=[j.pk for j in running],
            ended_at__isnull=True,
        )
        .defer("state")
        .order_by("pk")
    )
    # Each version's definition is read once, not once per enrollment.
    versions = JourneyVersion.objects.in_bulk({e.version_id for e in enrollments})
    for enrollment in enrollments:
        enrollment.version = versions[enrollment.version_id]
    return enrollments


def _listened(journeys, enrollments) -> tuple[set[str], bool]:
    """The event names a trigger, goal, exit or wait listens to, and whether
    a wait listens to any response."""
    names: set[str] = set()
    any_response = False
    for journey in journeys:
        trigger = journey.live_version.definition.get("trigger") or {}
        if "event" in trigger:
            names.add(trigger["event"])
        elif "segment" in trigger:
            names.add(EXITED if trigger.get("on") == "leave" else ENTERED)
    for enrollment in enrollments:
        definition = enrollment.version.definition
        if "event" in (definition.get("goal") or {}):
            names.add(definition["goal"]["event"])
        if (definition.get("exit") or {}).get("leaves_segment"):
            names.add(EXITED)
        if enrollment.waiting and enrollment.waiting_for == RESPONSE:
            any_response = True
        elif enrollment.waiting and enrollment.waiting_for:
            names.add(enrollment.waiting_for)
    return names, any_response
