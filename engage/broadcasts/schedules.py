"""When a broadcast's runs happen, and when each member's turn comes.

A one-off run is at ``send_at``. A daily run in the workspace's timezone is
at ``local_time`` there. A daily run in each customer's timezone covers one
local date: it starts when the first timezone on Earth (UTC+14) reaches
``local_time``, and each member's message is scheduled, or journey entry
made due, at ``local_time`` in their own timezone that date (the one the
quiet hours use: a ``timezone`` trait, the profile's, else the workspace's).
Starting that early lets a slow walk of a large audience finish before most
customers' time comes.
"""

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engage.messaging.policy import customer_timezone, workspace_policy

from .models import Broadcast

# The first timezone to reach a local time is this far ahead of UTC (Kiribati).
EARLIEST_OFFSET = datetime.timedelta(hours=14)


def workspace_timezone(workspace_id: int) -> ZoneInfo:
    """The workspace's timezone: its messaging policy's default one."""
    try:
        return ZoneInfo(workspace_policy(workspace_id).default_timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def run_start(broadcast: Broadcast, day: datetime.date) -> datetime.datetime:
    """When the daily run of local date ``day`` begins."""
    if broadcast.timezone == Broadcast.CUSTOMER:
        at = datetime.datetime.combine(day, broadcast.local_time, tzinfo=datetime.UTC)
        return at - EARLIEST_OFFSET
    local = datetime.datetime.combine(
        day, broadcast.local_time, tzinfo=workspace_timezone(broadcast.workspace_id)
    )
    return local.astimezone(datetime.UTC)


def plan_first_run(broadcast: Broadcast, now: datetime.datetime) -> None:
    """Plan the first run (run 1, or the one a scheduled broadcast waits for):
    at ``send_at``, or the first daily run that starts from now
    on (a run already begun elsewhere on Earth waits for tomorrow's, so
    nobody gets it at the wrong hour)."""
    # A scheduled broadcast planned again keeps the number of the run it waits for.
    broadcast.run, broadcast.cursor = broadcast.run or 1, 0
    if broadcast.schedule == Broadcast.ONCE:
        broadcast.run_date, broadcast.run_at = None, broadcast.send_at
    else:
        day = now.astimezone(datetime.UTC).date() - datetime.timedelta(days=1)
        while run_start(broadcast, day) < now:
            day += datetime.timedelta(days=1)
        broadcast.run_date, broadcast.run_at = day, run_start(broadcast, day)
    broadcast.next_slice_at = broadcast.run_at


def plan_next_run(broadcast: Broadcast) -> None:
    """After a daily run: the next day's."""
    broadcast.run += 1
    broadcast.cursor = 0
    broadcast.run_date += datetime.timedelta(days=1)
    broadcast.run_at = run_start(broadcast, broadcast.run_date)
    broadcast.next_slice_at = broadcast.run_at


def turns(broadcast: Broadcast, profiles: list) -> dict[int, datetime.datetime | None]:
    """{profile id: when that member's message goes or entry is due}; None: now."""
    if broadcast.schedule != Broadcast.DAILY or broadcast.timezone != Broadcast.CUSTOMER:
        return dict.fromkeys((profile.pk for profile in profiles), None)
    rules = workspace_policy(broadcast.workspace_id)
    return {
        profile.pk: datetime.datetime.combine(
            broadcast.run_date, broadcast.local_time, tzinfo=customer_timezone(profile, rules)
        ).astimezone(datetime.UTC)
        for profile in profiles
    }
