"""Reopening rolled-up days that changed after they were rolled up.

A rollup covers closed days (``RollupCoverage.through``); events can still
change them: an import back-filling last year's orders, or a merge or split
that moves a customer's old events to another profile (their cohort, their
conversions' touches). Each such change lowers the workspace's coverage to
the day before the earliest day it touches, so readers compute from there
live and the next ``roll_up`` recomputes it. One UPDATE per workspace and
batch; events of today, which no rollup covers yet, cost nothing.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db.models import Min
from django.utils import timezone

from engage.events.signals import RecordedEvent
from engage.profiles.models import Profile

from .models import RollupCoverage


def reopen(workspace_id: int, day: date) -> None:
    """Every rollup of the workspace covers at most the day before ``day``."""
    covered = RollupCoverage.objects.filter(workspace_id=workspace_id, through__gte=day)
    if day == date.min:
        covered.delete()  # nothing before it to keep
    else:
        covered.update(through=day - timedelta(days=1))


def reopen_for_events(events: Iterable[RecordedEvent]) -> None:
    """Reopen from each workspace's oldest event of the batch, when it is
    older than today."""
    today = timezone.now().date()
    oldest: dict[int, date] = {}
    for event in events:
        day = _utc_day(event.timestamp)
        if day < today and day < oldest.get(event.workspace_id, today):
            oldest[event.workspace_id] = day
    for workspace_id, day in oldest.items():
        reopen(workspace_id, day)


def reopen_for_profiles(workspace_id: int, profile_ids: Iterable[int]) -> None:
    """Reopen from the first time any of ``profile_ids`` was seen: the
    customers whose events moved (merged away, or handed back by a split)."""
    first = Profile.objects.filter(pk__in=list(profile_ids)).aggregate(first=Min("first_seen_at"))[
        "first"
    ]
    if first is not None:
        reopen(workspace_id, _utc_day(first))


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
