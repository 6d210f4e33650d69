"""Customers entering a journey: the entry rules, then one insert for all of them.

Every door in (an event trigger, a segment trigger, an operator enrolling
someone by hand) comes through ``enroll``, so the rules hold whichever
opened it:

- only while the journey is live (a paused or stopped journey takes nobody);
- at most one active enrollment per customer per journey (the partial
  unique constraint ``enrollment_one_active`` backs it);
- re-entry after an enrollment ended: ``never`` (the default), ``always``,
  or ``after`` ``after_days`` days since the customer last entered;
- at most ``daily_limit`` entries per journey per (UTC) day, first come
  first in.

Entries hold their journeys and customers while the rules are checked and
the rows written (``locks``): a pause, stop or publish never interleaves
with an entry, and two entries at once (two workers' events, an event and
an operator) see each other's customers, and each other's counts where a
journey has a daily limit. Entries of different customers into the same
journeys go on side by side; one of hundreds of customers (a broadcast's
slice) holds its journeys alone.

It is set-based whatever the number of customers and journeys (the
triggers of a chunk of events enter every journey at once): two statements
lock the journeys and customers, one finds the known customers, one each
reads their history (re-entry) and today's entries (daily limit), one
inserts the enrollments, one the ledger rows and one the node counts
(after checking the references the entry wrote: ``steps._add_counts``).
Before the insert the new enrollments take their first steps in memory, as
far as node types that only read and park go (``steps.start``): a journey
that begins with a wait needs nothing more from the engine. A merge racing
the entry with the same customer fails the insert on the one-active
constraint, and the entry runs again.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from engage import json_rows
from engage.dialect import among
from engage.messaging.models import MessageDecision
from engage.profiles.models import Profile

from . import engine, steps
from .inserts import insert_rows
from .ledger import JourneyLedger
from .locks import MAX_CUSTOMER_LOCKS, hold_entries, lock_journeys
from .models import Enrollment, Journey

NOT_LIVE = "not_live"
NO_PROFILE = "no_profile"
ALREADY_ACTIVE = "already_active"
REENTRY_NEVER = "reentry_never"
REENTRY_TOO_SOON = "reentry_too_soon"
DAILY_LIMIT = "daily_limit"
MANUAL = "manual"

logger = logging.getLogger(__name__)

# What a new enrollment holds before its walk, besides the entry's columns.
UNSET = {
    "visit": 0,
    "waiting": False,
    "waiting_for": "",
    "wake_event_id": None,
    "ended_at": None,
    "end_reason": "",
}


@dataclass
class EntryResult:
    """Who entered (their new enrollments) and why each of the others did not."""

    refused: dict[int, str] = field(default_factory=dict)
    # The entered enrollments' columns, made model instances when asked for.
    rows: list[dict] = field(default_factory=list, repr=False)

    @cached_property
    def entered(self) -> list[Enrollment]:
        entered = []
        for row in self.rows:
            enrollment = Enrollment(**row)
            enrollment._state.adding = False
            entered.append(enrollment)
        return entered


def enroll(
    *,
    journey: Journey,
    profile_ids,
    now: datetime.datetime | None = None,
    trigger_event_ids: dict[int, int] | None = None,
) -> EntryResult:
    """Enter ``profile_ids`` into ``journey``'s live version at its start node,
    due at once; ``trigger_event_ids`` ({profile id: event id}) says which
    event let each in (none: entered by hand). Refusals name their reason
    (``NOT_LIVE``, ``NO_PROFILE`` for an unknown or merged-away customer,
    ``ALREADY_ACTIVE``, ``REENTRY_NEVER``, ``REENTRY_TOO_SOON``,
    ``DAILY_LIMIT``)."""
    return enroll_many({journey: trigger_event_ids or {}}, profile_ids=profile_ids, now=now)[
        journey.pk
    ]


def enroll_many(
    triggered: dict[Journey, dict[int, int | None]],
    *,
    profile_ids=None,
    now: datetime.datetime | None = None,
) -> dict[int, EntryResult]:
    """``enroll`` for several journeys at once, each with its customers
    ({profile id: triggering event id}), or ``profile_ids`` for all of them;
    returns each journey's result by its id."""
    now = now or timezone.now()
    shared = None if profile_ids is None else list(dict.fromkeys(profile_ids))
    wanted = {
        journey.pk: shared if shared is not None else list(events)
        for journey, events in triggered.items()
    }
    events = {journey.pk: events for journey, events in triggered.items()}
    try:
        return _enroll(wanted, events, now)
    except IntegrityError:
        # A customer was erased meanwhile (their row is checked at commit),
        # or another writer (a merge, on SQLite any) entered one: once that
        # has committed, the rules see it.
        return _enroll(wanted, events, now)


def _enroll(wanted: dict[int, list[int]], events: dict, now) -> dict[int, EntryResult]:
    results = {pk: EntryResult() for pk in wanted}
    wanted = {pk: ids for pk, ids in wanted.items() if ids}
    if not wanted:
        return results
    customers = {profile_id for ids in wanted.values() for profile_id in ids}
    alone = len(customers) > MAX_CUSTOMER_LOCKS
    with transaction.atomic():
        lock_journeys(wanted, alone=alone)
        journeys = {
            journey.pk: journey
            for journey in Journey.objects.select_related("live_version", "workspace")
            .filter(pk__in=list(wanted))
            .order_by("pk")
        }
        live = {}
        for pk, ids in wanted.items():
            journey = journeys.get(pk)
            if journey is None or journey.status != Journey.LIVE or journey.live_version is None:
                results[pk].refused = dict.fromkeys(ids, NOT_LIVE)
            else:
                live[pk] = journey
        if not live:
            return results
        if not alone:
            hold_entries(
                limited=[pk for pk, journey in live.items() if _daily_limit(journey) is not None],
                profile_ids=customers,
            )
        eligible = _eligible(live, {pk: wanted[pk] for pk in live}, now, results)
        for row in _enter(live, eligible, events, now):
            results[row["journey_id"]].rows.append(row)
    return results


def _eligible(live: dict[int, Journey], wanted: dict[int, list[int]], now, results) -> dict:
    """The customers each journey's entry rules let in, in order; the others
    go to their journey's ``refused`` with the reason (three queries)."""
    everyone = {profile_id for ids in wanted.values() for profile_id in ids}
    known = dict(
        Profile.objects.filter(among("id", everyone), merged_into__isnull=True).values_list(
            "pk", "workspace_id"
        )
    )
    history = {
        (row["journey_id"], row["profile_id"]): row
        for row in Enrollment.objects.filter(among("profile_id", known), journey_id__in=list(live))
        .values("journey_id", "profile_id")
        .annotate(last=Max("entered_at"), active=Count("pk", filter=Q(ended_at__isnull=True)))
    }
    eligible = {}
    for pk, ids in wanted.items():
        journey, refused = live[pk], results[pk].refused
        rules = journey.live_version.definition.get("entry") or {}
        reentry = rules.get("reentry", "never")
        since = now - datetime.timedelta(days=rules.get("after_days", 0))
        eligible[pk] = []
        for profile_id in ids:
            past = history.get((pk, profile_id))
            if known.get(profile_id) != journey.workspace_id:
                refused[profile_id] = NO_PROFILE
            elif past is None:
                eligible[pk].append(profile_id)
            elif past["active"]:
                refused[profile_id] = ALREADY_ACTIVE
            elif reentry == "never":
                refused[profile_id] = REENTRY_NEVER
            elif reentry == "after" and past["last"] > since:
                refused[profile_id] = REENTRY_TOO_SOON
            else:
                eligible[pk].append(profile_id)
    _daily_limits(live, eligible, now, results)
    return eligible


def _daily_limits(live: dict[int, Journey], eligible: dict[int, list[int]], now, results) -> None:
    """Refuse, first come first in, who would pass a journey's ``daily_limit``
    (one query for all the journeys that have one)."""
    limits = {
        pk: limit
        for pk, journey in live.items()
        if eligible[pk] and (limit := _daily_limit(journey)) is not None
    }
    if not limits:
        return
    day = now.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    today = dict(
        Enrollment.objects.filter(
            journey_id__in=list(limits),
            entered_at__gte=day,
            entered_at__lt=day + datetime.timedelta(days=1),
        )
        .values("journey_id")
        .annotate(n=Count("pk"))
        .values_list("journey_id", "n")
    )
    for pk, limit in limits.items():
        room = max(limit - today.get(pk, 0), 0)
        for profile_id in eligible[pk][room:]:
            results[pk].refused[profile_id] = DAILY_LIMIT
        eligible[pk] = eligible[pk][:room]


def _daily_limit(journey: Journey) -> int | None:
    return (journey.live_version.definition.get("entry") or {}).get("daily_limit")


def _enter(live: dict[int, Journey], eligible: dict, events: dict, now) -> list[dict]:
    """Walk the new enrollments as far as they go at entry (``steps.start``),
    then write them as they stand, their ledger rows and the node counts;
    returns the columns each entered with. A customer another writer
    entered meanwhile fails the insert, and ``enroll_many`` runs the entry
    again, which then refuses them."""
    columns = _columns(live, eligible, events, now)
    if not columns:
        return []
    size = len(columns["profile_id"])
    versions = {}
    for journey in live.values():
        journey.live_version.journey = journey
        versions[journey.live_version_id] = journey.live_version
    enrollments = _new(columns)
    decisions = _ledger(live, enrollments)
    try:
        with transaction.atomic():  # a node that fails takes back only its reads
            run = steps.start(enrollments, versions, now, decisions)
    except Exception:
        # Entering matters more than the first steps: the engine runs
        # them (and reports the node again if it fails there too).
        logger.exception("the first steps of %s entries failed; the engine runs them", size)
        enrollments = _new(columns)
        decisions = _ledger(live, enrollments)
        run = steps.start([], versions, now, decisions)
    written = insert_rows(
        Enrollment,
        {
            name: [getattr(e, name) for e in enrollments]
            for name in (*columns, *steps.ENROLLMENT_FIELDS)
        },
        returning=("id", "journey_id", "profile_id"),
    )
    ids = {(journey_id, profile_id): pk for pk, journey_id, profile_id in written}
    real = {e.pk: ids[(e.journey_id, e.profile_id)] for e in enrollments}
    decisions.columns["enrollment_id"] = [real[pk] for pk in decisions.columns["enrollment_id"]]
    run.write()
    if any(e.ended_at is None and e.next_run_at <= now for e in enrollments):
        engine.kick()
    return [
        {"id": real[-1 - i], **{name: values[i] for name, values in columns.items()}}
        for i in range(size)
    ]


def _new(columns: dict[str, list]) -> list[Enrollment]:
    """The enrollments of ``columns``, with ids for the walk until the insert
    gives the real ones (it only reads and parks; the ledger rows are
    renumbered)."""
    return [
        json_rows.build(
            Enrollment,
            {**UNSET, "id": -1 - i, "state": {}, **{n: values[i] for n, values in columns.items()}},
            db=None,
        )
        for i in range(len(columns["profile_id"]))
    ]


def _columns(live: dict[int, Journey], eligible: dict, events: dict, now) -> dict[str, list]:
    """The columns of the new enrollments: at the start node, due now."""
    columns: dict[str, list] = defaultdict(list)
    for pk, ids in eligible.items():
        journey, triggers = live[pk], events[pk]
        for profile_id in ids:
            columns["workspace_id"].append(journey.workspace_id)
            columns["journey_id"].append(pk)
            columns["version_id"].append(journey.live_version_id)
            columns["profile_id"].append(profile_id)
            columns["origin_profile_id"].append(profile_id)
            columns["node_id"].append(journey.live_version.definition["start"])
            columns["next_run_at"].append(now)
            columns["trigger_event_id"].append(triggers.get(profile_id))
            columns["entered_at"].append(now)
    return columns


def _ledger(live: dict[int, Journey], enrollments: list[Enrollment]) -> JourneyLedger:
    """The ``enter`` ledger row of each new enrollment."""
    ledger = JourneyLedger()
    for enrollment in enrollments:
        version = live[enrollment.journey_id].live_version
        event_id = enrollment.trigger_event_id
        ledger.add(
            enrollment,
            version_number=version.number,
            node_id=enrollment.node_id,
            action=MessageDecision.ENTER,
            reason=_trigger_kind(version.definition.get("trigger") or {}) if event_id else MANUAL,
            detail=str(event_id or ""),
        )
    return ledger


def _trigger_kind(trigger: dict) -> str:
    """The ledger's reason for an entry by the trigger: ``event``,
    ``segment_enter`` or ``segment_leave``."""
    if "segment" in trigger:
        return f"segment_{trigger.get('on', 'enter')}"
    return "event"
