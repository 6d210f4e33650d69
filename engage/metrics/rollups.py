"""Daily rollups of the heavy metrics (cohort retention, attribution).

A beat task (``tasks.roll_up_all_workspaces``: ``services.roll_up`` per
workspace) stores, for each workspace's current settings, each closed day's
attribution credit and each closed period's retention cells, and records how
far it got (``RollupCoverage.through``). A reader takes what is covered from
the rollups and computes the rest (today, the open period, or everything when
the settings asked for were never rolled up) live, so a closed day costs one
row read instead of a scan of its events.

Attribution by day adds up exactly: each conversion's credit belongs to the
day of the conversion. A retention cell of a closed period is final too: it
counts whole periods. Events that arrive late (an import back-filling last
year) and merges or splits that move old events lower the coverage to the
day before the earliest day they touch (``invalidation``); each run also
recomputes the last ``REOPEN_DAYS``.
"""

from datetime import date, timedelta

from django.db import transaction

from engage.workspaces.models import Workspace

from . import periods
from .definitions import purchase
from .models import Rollup, RollupCoverage

ATTRIBUTION = "attribution"
RETENTION = "retention"
# Late events within this many days of a run are still counted.
REOPEN_DAYS = 3


def attribution_key(
    *, event: str, revenue_property: str, window_days: int, half_life_days: float
) -> str:
    return f"{event}|{revenue_property}|{window_days}|{float(half_life_days)}"


def retention_key(
    workspace: Workspace, *, grain: str, basis: str, activity: str, event: str | None
) -> str:
    return f"{grain}|{basis}|{activity}|{purchase(workspace, event=event).event}"


def coverage(workspace: Workspace, metric: str, key: str) -> date | None:
    row = RollupCoverage.objects.filter(workspace=workspace, metric=metric, key=key).first()
    return row.through if row else None


def read_days(
    workspace: Workspace, metric: str, key: str, *, start: date, end: date
) -> tuple[dict[str, dict], date | None]:
    """The stored days from ``start`` to ``end``, and the first day to
    compute live (None when the rollups cover the whole range)."""
    through = coverage(workspace, metric, key)
    if through is None or through < start:
        return {}, start
    rows = Rollup.objects.filter(
        workspace=workspace, metric=metric, key=key, day__gte=start, day__lte=min(through, end)
    ).values_list("day", "data")
    days = {day.isoformat(): data for day, data in rows}
    return days, (through + timedelta(days=1) if through < end else None)


def read_retention(
    workspace: Workspace, key: str, *, cohorts: tuple[int, int], until: int
) -> tuple[dict[int, int], dict[tuple[int, int], int], int]:
    """Sizes and cells held for closed periods, and the first period to
    compute live."""
    grain = key.split("|", 1)[0]
    through = coverage(workspace, RETENTION, key)
    if through is None:
        return {}, {}, cohorts[0]
    # Coverage lowered mid-period (``invalidation``) leaves that period open.
    since = periods.index_of(grain, through + timedelta(days=1))
    if since <= cohorts[0]:
        return {}, {}, cohorts[0]
    sizes: dict[int, int] = {}
    active: dict[tuple[int, int], int] = {}
    rows = Rollup.objects.filter(
        workspace=workspace,
        metric=RETENTION,
        key=key,
        day__gte=periods.first_day(grain, cohorts[0]),
        day__lte=periods.first_day(grain, min(since - 1, until)),
    ).values_list("day", "data")
    for day, data in rows:
        period = periods.index_of(grain, day)
        if period <= cohorts[1] and data.get("size"):
            sizes[period] = data["size"]
        for cohort, count in data["active"].items():
            if cohorts[0] <= int(cohort) <= cohorts[1]:
                active[(int(cohort), period)] = count
    return sizes, active, since


def store(
    workspace: Workspace,
    metric: str,
    key: str,
    days: dict[date, dict],
    *,
    start: date,
    through: date,
) -> None:
    """Replace the rows from ``start`` to ``through`` with ``days`` and move
    the coverage to ``through``, in one transaction."""
    with transaction.atomic():
        Rollup.objects.filter(
            workspace=workspace, metric=metric, key=key, day__gte=start, day__lte=through
        ).delete()
        Rollup.objects.bulk_create(
            Rollup(workspace=workspace, metric=metric, key=key, day=day, data=data)
            for day, data in days.items()
        )
        RollupCoverage.objects.update_or_create(
            workspace=workspace, metric=metric, key=key, defaults={"through": through}
        )
