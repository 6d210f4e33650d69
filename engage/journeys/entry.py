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

The journey's row is locked while the rules are checked and the rows
written, so two entries at once (two workers' events, an event and an
operator) see each other's customers and counts, and a pause or stop
(which lock the same row) never interleaves with an entry.
"""

import datetime
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from engage.messaging.models import Message, MessageDecision
from engage.profiles.models import Profile

from . import engine
from .models import Enrollment, Journey

NOT_LIVE = "not_live"
NO_PROFILE = "no_profile"
ALREADY_ACTIVE = "already_active"
REENTRY_NEVER = "reentry_never"
REENTRY_TOO_SOON = "reentry_too_soon"
DAILY_LIMIT = "daily_limit"
MANUAL = "manual"


@dataclass
class EntryResult:
    """Who entered (their new enrollments) and why each of the others did not."""

    entered: list[Enrollment] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


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
    now = now or timezone.now()
    wanted = list(dict.fromkeys(profile_ids))
    try:
        return _enroll(journey, wanted, now, trigger_event_ids or {})
    except IntegrityError:
        # A merge moved an active enrollment of this journey to one of these
        # customers meanwhile (merges do not take the journey's lock): once
        # it has committed, the rules see it.
        return _enroll(journey, wanted, now, trigger_event_ids or {})


def _enroll(journey, wanted: list[int], now, trigger_event_ids: dict[int, int]) -> EntryResult:
    result = EntryResult()
    if not wanted:
        return result
    with transaction.atomic():
        journey = (
            Journey.objects.select_for_update(of=("self",))
            .select_related("live_version")
            .get(pk=journey.pk)
        )
        version = journey.live_version
        if journey.status != Journey.LIVE or version is None:
            result.refused = dict.fromkeys(wanted, NOT_LIVE)
            return result
        eligible = _eligible(journey, version.definition.get("entry") or {}, wanted, now, result)
        if not eligible:
            return result
        start = version.definition["start"]
        result.entered = Enrollment.objects.bulk_create(
            [
                Enrollment(
                    workspace_id=journey.workspace_id,
                    journey=journey,
                    version=version,
                    profile_id=profile_id,
                    origin_profile_id=profile_id,
                    node_id=start,
                    next_run_at=now,
                    trigger_event_id=trigger_event_ids.get(profile_id),
                    entered_at=now,
                )
                for profile_id in eligible
            ]
        )
        reason = _trigger_kind(version.definition.get("trigger") or {})
        MessageDecision.objects.bulk_create(
            [
                MessageDecision(
                    workspace_id=journey.workspace_id,
                    profile_id=enrollment.profile_id,
                    origin_profile_id=enrollment.profile_id,
                    action=MessageDecision.ENTER,
                    reason=reason if enrollment.trigger_event_id else MANUAL,
                    detail=str(enrollment.trigger_event_id or ""),
                    source=Message.JOURNEY,
                    journey_id=journey.pk,
                    journey_version=version.number,
                    journey_node_id=start,
                    enrollment_id=enrollment.pk,
                )
                for enrollment in result.entered
            ]
        )
        engine.kick()
    return result


def _eligible(journey, rules: dict, wanted: list[int], now, result: EntryResult) -> list[int]:
    """The customers of ``wanted`` the entry rules let in, in order; the
    others go to ``result.refused`` with their reason (three queries)."""
    known = set(
        Profile.objects.filter(
            workspace_id=journey.workspace_id, pk__in=wanted, merged_into__isnull=True
        ).values_list("pk", flat=True)
    )
    history = {
        row["profile_id"]: row
        for row in Enrollment.objects.filter(journey=journey, profile_id__in=list(known))
        .values("profile_id")
        .annotate(last=Max("entered_at"), active=Count("pk", filter=Q(ended_at__isnull=True)))
    }
    reentry = rules.get("reentry", "never")
    since = now - datetime.timedelta(days=rules.get("after_days", 0))
    eligible = []
    for profile_id in wanted:
        past = history.get(profile_id)
        if profile_id not in known:
            result.refused[profile_id] = NO_PROFILE
        elif past is None:
            eligible.append(profile_id)
        elif past["active"]:
            result.refused[profile_id] = ALREADY_ACTIVE
        elif reentry == "never":
            result.refused[profile_id] = REENTRY_NEVER
        elif reentry == "after" and past["last"] > since:
            result.refused[profile_id] = REENTRY_TOO_SOON
        else:
            eligible.append(profile_id)
    limit = rules.get("daily_limit")
    if limit is not None and eligible:
        day = now.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        today = Enrollment.objects.filter(
            journey=journey, entered_at__gte=day, entered_at__lt=day + datetime.timedelta(days=1)
        ).count()
        room = max(limit - today, 0)
        for profile_id in eligible[room:]:
            result.refused[profile_id] = DAILY_LIMIT
        eligible = eligible[:room]
    return eligible


def _trigger_kind(trigger: dict) -> str:
    """The ledger's reason for an entry by the trigger: ``event``,
    ``segment_enter`` or ``segment_leave``."""
    if "segment" in trigger:
        return f"segment_{trigger.get('on', 'enter')}"
    return "event"
