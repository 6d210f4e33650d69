"""Rolling up the heavy metrics: what the daily beat task runs per workspace.

Each run computes, for the workspace's current settings, attribution per
conversion day and every retention variant per closed period, from where the
last run's coverage ends (less ``rollups.REOPEN_DAYS``, for late events) up
to yesterday, in one query per metric and variant, and stores them with
``rollups.store``. A first run covers the whole history in those same few
queries.
"""

from datetime import date, timedelta

from engage.workspaces.models import Workspace

from . import periods, rollups
from .attribution import DEFAULT_HALF_LIFE_DAYS, DEFAULT_WINDOW_DAYS, credits_by_day
from .definitions import purchase
from .models import Rollup, RollupCoverage
from .retention import ACTIVITIES, BASES, cells


def _reopened(through: date | None) -> date:
    if through is None or through <= date.min + timedelta(days=rollups.REOPEN_DAYS):
        return date.min
    return through - timedelta(days=rollups.REOPEN_DAYS)


def roll_up_attribution(workspace: Workspace, *, today: date) -> None:
    goal = purchase(workspace)
    settings = {
        "event": goal.event,
        "revenue_property": goal.revenue_property,
        "window_days": DEFAULT_WINDOW_DAYS,
        "half_life_days": DEFAULT_HALF_LIFE_DAYS,
    }
    key = rollups.attribution_key(**settings)
    yesterday = today - timedelta(days=1)
    start = _reopened(rollups.coverage(workspace, rollups.ATTRIBUTION, key))
    days = credits_by_day(workspace, **settings, start=start, end=yesterday)
    rollups.store(
        workspace,
        rollups.ATTRIBUTION,
        key,
        {date.fromisoformat(day): data for day, data in days.items()},
        start=start,
        through=yesterday,
    )


def roll_up_retention(
    workspace: Workspace, *, today: date, grain: str, basis: str, activity: str
) -> None:
    key = rollups.retention_key(workspace, grain=grain, basis=basis, activity=activity, event=None)
    closed = periods.index_of(grain, today) - 1
    through = rollups.coverage(workspace, rollups.RETENTION, key)
    since = periods.index_of(grain, _reopened(through))
    sizes, active = cells(
        workspace,
        grain=grain,
        basis=basis,
        activity=activity,
        cohorts=(periods.index_of(grain, date.min), closed),
        until=closed,
        since=since if through is not None else None,
    )
    by_period: dict[int, dict] = {}
    for (cohort, period), count in active.items():
        by_period.setdefault(period, {"size": 0, "active": {}})["active"][str(cohort)] = count
    for cohort, size in sizes.items():
        by_period.setdefault(cohort, {"size": 0, "active": {}})["size"] = size
    rollups.store(
        workspace,
        rollups.RETENTION,
        key,
        {periods.first_day(grain, period): data for period, data in by_period.items()},
        start=periods.first_day(grain, since),
        through=periods.first_day(grain, closed + 1) - timedelta(days=1),
    )


def roll_up(workspace: Workspace, *, today: date) -> None:
    """Every rollup of ``workspace`` up to the day before ``today``."""
    roll_up_attribution(workspace, today=today)
    for grain in periods.GRAINS:
        for basis in BASES:
            for activity in ACTIVITIES:
                roll_up_retention(
                    workspace, today=today, grain=grain, basis=basis, activity=activity
                )


def forget(workspace: Workspace) -> None:
    """Drop the workspace's rollups, so the next run computes all history."""
    Rollup.objects.filter(workspace=workspace).delete()
    RollupCoverage.objects.filter(workspace=workspace).delete()
