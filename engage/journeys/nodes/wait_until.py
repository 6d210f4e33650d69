"""``wait_until``: wait for the next given local time of day, in the customer's timezone.

``{"type": "wait_until", "time": "10:00", "days": ["monday", "friday"],
"next": "offer"}``

"Next 10:00" is read on the customer's own clock (the timezone messaging's
quiet hours use: the ``timezone`` trait, the profile's, then the workspace
default), so a customer in Tokyo and one in Paris each get it at ten their
time, and a daylight-saving change moves the UTC instant, not the local
time. ``days`` keeps only those weekdays. A local time the clocks skip (02:30
on the spring-forward night) is read with the offset before the change.
"""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engage.messaging.policy import customer_timezone, workspace_policy
from engage.profiles.models import Profile

from .. import graph

TYPE = "wait_until"
AT_ENTRY = True
TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def outcomes(node: dict) -> tuple[str, ...]:
    return (graph.NEXT,)


def validate(checker, node: dict, path: str) -> None:
    if not checker.fields(node, path, {"time"}, {"days"}):
        return
    if not isinstance(node["time"], str) or not TIME.match(node["time"]):
        checker.error(f"{path}.time", 'must be a local time "HH:MM" from 00:00 to 23:59')
    if "days" in node:
        days = node["days"]
        if not isinstance(days, list) or not days:
            checker.error(f"{path}.days", f"must be a non-empty list of {', '.join(WEEKDAYS)}")
            return
        for i, day in enumerate(days):
            if day not in WEEKDAYS:
                checker.error(f"{path}.days[{i}]", f"must be one of {', '.join(WEEKDAYS)}")
            elif days.index(day) != i:
                checker.error(f"{path}.days[{i}]", f"{day} is listed twice")


def next_local(now: datetime, at: time, tz: ZoneInfo, weekdays: set[int] | None) -> datetime:
    """The first instant after ``now`` whose local time in ``tz`` is ``at``,
    on one of ``weekdays`` (Monday is 0; None: any day), in UTC."""
    today = now.astimezone(tz).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        if weekdays and day.weekday() not in weekdays:
            continue
        candidate = datetime.combine(day, at, tzinfo=tz)
        if candidate > now:
            return candidate.astimezone(UTC)
    raise AssertionError("a week always holds one of the given weekdays")


def run(batch) -> None:
    arrived = []
    for enrollment in batch.enrollments:
        if batch.woken(enrollment):
            batch.go(enrollment)
        else:
            arrived.append(enrollment)
    if not arrived:
        return
    hour, minute = (int(part) for part in TIME.match(batch.node["time"]).groups())
    at = time(hour, minute)
    days = batch.node.get("days")
    weekdays = {WEEKDAYS.index(day) for day in days} if days else None
    policy = workspace_policy(batch.workspace.pk)
    profiles = Profile.objects.only("id", "traits", "timezone").in_bulk(
        {enrollment.profile_id for enrollment in arrived}
    )
    for enrollment in arrived:
        tz = customer_timezone(profiles[enrollment.profile_id], policy)
        batch.wait(
            enrollment,
            next_local(batch.now, at, tz, weekdays),
            reason="time_of_day",
            detail=f"next {batch.node['time']} in {tz.key}",
        )
