"""The dashboard's own numbers: the ones no metric selector gives.

Each reads one workspace over a ``Window`` (UTC dates, both included, as the
metrics read them) in one grouped query. The other charts call the metrics
app's selectors and the feedback report, so a number on the dashboard is the
number the API answers.
"""

from dataclasses import dataclass
from datetime import UTC, date, timedelta

from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncDate, TruncWeek

from engage.dialect import Dialect
from engage.events.models import Event
from engage.messaging.models import Message, MessageDecision
from engage.metrics.definitions import activity_kinds
from engage.metrics.window import EVENT_ROWS, Window, fetch
from engage.profiles.models import Profile
from engage.segments.models import Segment
from engage.workspaces.models import Workspace

NO_CHANNEL = "(none)"
TOP_DECISIONS = 10
# Deciding not to send, or not yet: what an operator looks into.
HELD_BACK = (MessageDecision.SKIP, MessageDecision.DEFER)


@dataclass(frozen=True)
class Day:
    day: date
    customers: int
    events: int


def days(window: Window) -> list[date]:
    return [window.start + timedelta(n) for n in range((window.end - window.start).days + 1)]


def customers_and_events(workspace: Workspace, window: Window) -> list[Day]:
    """Per day of the range, zeros included: customers first seen that day
    (current ones: a merged-away profile was counted in its survivor) and
    events received for customers, set-aside (quarantined) ones left out."""
    new = dict(
        Profile.objects.filter(
            workspace=workspace,
            merged_into__isnull=True,
            first_seen_at__gte=window.start_at,
            first_seen_at__lte=window.end_at,
        )
        .annotate(day=TruncDate("first_seen_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    events = dict(
        Event.objects.filter(
            workspace=workspace,
            profile__isnull=False,
            quarantined_at__isnull=True,
            timestamp__gte=window.start_at,
            timestamp__lte=window.end_at,
        )
        .annotate(day=TruncDate("timestamp", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [Day(day, new.get(day, 0), events.get(day, 0)) for day in days(window)]


def active_by_channel(workspace: Workspace, window: Window) -> list[tuple[str, int]]:
    """``[(channel, customers)]``, most first: distinct customers with an
    activity of theirs (not a send or delivery engage wrote) on each channel;
    events with no channel under ``(none)``."""
    sql = Dialect(connection)
    kinds, kind_params = activity_kinds(workspace)
    query = f"""
        WITH {kinds}
        SELECT e.channel AS channel, COUNT(DISTINCT e.profile_id) AS customers
        FROM events_event e LEFT JOIN kinds k ON k.name = e.name
        WHERE {EVENT_ROWS} AND COALESCE(k.activity, 1) = 1
          AND e.timestamp >= %s AND e.timestamp <= %s
        GROUP BY e.channel ORDER BY customers DESC, channel
    """  # noqa: S608 - fixed SQL pieces; values are parameters
    rows = fetch(query, [*kind_params, workspace.pk, *window.params(sql)])
    return [(row["channel"] or NO_CHANNEL, row["customers"]) for row in rows]


def messages_by_channel_and_status(
    workspace: Workspace, window: Window
) -> dict[str, dict[str, int]]:
    """``{channel: {status: messages}}`` of the messages created in the range,
    by where each stands now."""
    found: dict[str, dict[str, int]] = {}
    rows = (
        Message.objects.filter(
            workspace=workspace, created_at__gte=window.start_at, created_at__lte=window.end_at
        )
        .values_list("channel", "status")
        .annotate(n=Count("id"))
        .order_by("channel", "status")
    )
    for channel, status, n in rows:
        found.setdefault(channel, {})[status] = n
    return found


def top_decisions(
    workspace: Workspace, window: Window, *, limit: int = TOP_DECISIONS
) -> list[tuple[str, str, int]]:
    """``[(action, reason, decisions)]``: the skips and deferrals of the range
    by reason, most frequent first."""
    return list(
        MessageDecision.objects.filter(
            workspace=workspace,
            action__in=HELD_BACK,
            created_at__gte=window.start_at,
            created_at__lte=window.end_at,
        )
        .values_list("action", "reason")
        .annotate(n=Count("id"))
        .order_by("-n", "action", "reason")[:limit]
    )


def segment_sizes(segment: Segment, *, limit: int) -> list[tuple[date, int]]:
    """``[(day, size)]`` of the latest ``limit`` refreshes, oldest first: the
    size each day's last refresh recorded (a day without one has no row, its
    size unknown; a segment refreshed rarely still shows its history)."""
    latest = segment.sizes.order_by("-date").values_list("date", "size")[:limit]
    return sorted(latest)


def activity_by_week(profile: Profile, window: Window) -> dict[date, dict[str, int]]:
    """``{monday: {channel: events}}`` of one customer's events in the range,
    read through the timeline index (profile, timestamp)."""
    found: dict[date, dict[str, int]] = {}
    rows = (
        Event.objects.filter(
            profile=profile,
            quarantined_at__isnull=True,
            timestamp__gte=window.start_at,
            timestamp__lte=window.end_at,
        )
        .annotate(week=TruncWeek("timestamp", tzinfo=UTC))
        .values_list("week", "channel")
        .annotate(n=Count("id"))
        .order_by("week", "channel")
    )
    for week, channel, n in rows:
        monday = week.date() if hasattr(week, "date") else week
        found.setdefault(monday, {})[channel or NO_CHANNEL] = n
    return found
