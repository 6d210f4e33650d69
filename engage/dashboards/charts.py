"""Charts as tables: every chart is an HTML table first, and the browser draws
the picture from that table's cells (``static/dashboards/charts.js``).

So the picture and the numbers cannot disagree, a page without JavaScript
shows the table, and each number is read from the database once. A chart is
rows (the x axis: days, channels, nodes) by columns (the series).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from engage.feedback import scales
from engage.feedback.selectors import over_time as feedback_over_time
from engage.journeys import selectors as journey_selectors
from engage.journeys.models import Journey
from engage.messaging.models import Message, MessageDecision
from engage.metrics import periods
from engage.metrics.journeys import journeys as journey_metrics
from engage.metrics.retention import retention
from engage.metrics.value import value
from engage.metrics.window import Window
from engage.profiles.models import Profile
from engage.segments.models import Segment
from engage.workspaces.models import Workspace

from . import selectors

LINE, BAR, STACKED, DUAL, HEATMAP = "line", "bar", "stacked", "dual", "heatmap"
# A range up to this many days shows weekly retention cohorts, longer ones monthly.
WEEKLY_COHORTS_UP_TO_DAYS = 92
STATUS_ORDER = [status for status, _ in Message.STATUSES]
ACTION_LABELS = dict(MessageDecision.ACTIONS)


@dataclass(frozen=True)
class Cell:
    value: float | None
    text: str
    # Heat maps colour the cell by ``shade`` (0 to 1) and explain it on hover.
    shade: float | None = None
    hint: str = ""


@dataclass
class Chart:
    key: str
    title: str
    kind: str
    label: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)
    note: str = ""
    empty: str = "Nothing in this range."


def number(value: float | None, *, digits: int = 0) -> Cell:
    if value is None:
        return Cell(None, "")
    text = f"{value:,.{digits}f}" if digits else f"{round(value):,}"
    return Cell(round(value, max(digits, 2)), text)


def overview(workspace: Workspace, window: Window) -> list[Chart]:
    """The overview page's charts, in the order they are shown."""
    return [
        customers_and_events(workspace, window),
        active_by_channel(workspace, window),
        revenue(workspace, window),
        cohort_retention(workspace, window),
        nps_trend(workspace, window),
        messages(workspace, window),
        journey_funnel(workspace, window),
        decisions(workspace, window),
    ]


def customers_and_events(workspace: Workspace, window: Window) -> Chart:
    chart = Chart(
        "customers-events",
        "Customers and events",
        DUAL,
        "day",
        ["new customers", "events"],
        note="Customers first seen each day (left axis) and events received (right axis).",
    )
    rows = selectors.customers_and_events(workspace, window)
    if any(row.customers or row.events for row in rows):
        chart.rows = [
            (row.day.isoformat(), [number(row.customers), number(row.events)]) for row in rows
        ]
    return chart


def active_by_channel(workspace: Workspace, window: Window) -> Chart:
    chart = Chart(
        "active-channels",
        "Active customers by channel",
        BAR,
        "channel",
        ["customers"],
        note="Customers with an event of their own on the channel in the range.",
    )
    chart.rows = [
        (channel, [number(n)]) for channel, n in selectors.active_by_channel(workspace, window)
    ]
    return chart


def revenue(workspace: Workspace, window: Window) -> Chart:
    found = value(workspace, start=window.start, end=window.end)
    total = found.total
    chart = Chart(
        "revenue",
        "Revenue by month of acquisition",
        BAR,
        "acquired in",
        ["revenue", "revenue per customer"],
        note=(
            f"{total['customers']:,} customers acquired in the range; "
            f"{total['revenue']:,.2f} revenue from them to the range's end."
        ),
    )
    chart.rows = [
        (
            row["key"][:7],
            [number(row["revenue"], digits=2), number(row["revenue_per_customer"], digits=2)],
        )
        for row in found.rows
        if row["group"] == "cohort"
    ]
    return chart


def cohort_retention(workspace: Workspace, window: Window) -> Chart:
    weekly = (window.end - window.start).days < WEEKLY_COHORTS_UP_TO_DAYS
    grain = periods.WEEK if weekly else periods.MONTH
    found = retention(workspace, start=window.start, end=window.end, grain=grain)
    width = max((len(row["active"]) for row in found.rows), default=0)
    chart = Chart(
        "retention",
        f"Retention by {grain} of first activity",
        HEATMAP,
        "cohort (customers)",
        [f"{grain} {k}" for k in range(width)],
        note=f"Share of each cohort active in the k-th {grain} after its first.",
    )
    for row in found.rows:
        cells = [
            Cell(
                round(rate, 4),
                f"{rate:.0%}",
                shade=rate,
                hint=f"{active} of {row['size']} active in {grain} {k}",
            )
            for k, (active, rate) in enumerate(zip(row["active"], row["rates"], strict=True))
        ]
        cells += [Cell(None, "")] * (width - len(cells))
        chart.rows.append((f"{row['cohort']} ({row['size']:,})", cells))
    return chart


def nps_trend(workspace: Workspace, window: Window) -> Chart:
    chart = Chart(
        "nps",
        "NPS by week",
        DUAL,
        "week of",
        ["NPS", "answers"],
        note="Promoters % minus detractors % (left axis), and answers (right axis), per week.",
    )
    rows = feedback_over_time(
        workspace_id=workspace.pk,
        kind=scales.NPS,
        since=window.start_at,
        until=window.end_at + timedelta(microseconds=1),
        interval="week",
    )
    chart.rows = [
        (
            _day(row["period"]).isoformat(),
            [number(row["nps"], digits=1), number(row["answers"])],
        )
        for row in rows
    ]
    return chart


def messages(workspace: Workspace, window: Window) -> Chart:
    found = selectors.messages_by_channel_and_status(workspace, window)
    seen = {status for statuses in found.values() for status in statuses}
    statuses = [status for status in STATUS_ORDER if status in seen]
    chart = Chart(
        "messages",
        "Messages by channel and status",
        STACKED,
        "channel",
        statuses,
        note="Messages created in the range, by where each stands now.",
    )
    chart.rows = [
        (channel, [number(counts.get(status, 0)) for status in statuses])
        for channel, counts in found.items()
    ]
    return chart


def journey_funnel(workspace: Workspace, window: Window) -> Chart:
    found = journey_metrics(workspace, start=window.start, end=window.end)
    chart = Chart(
        "journeys",
        "Journeys",
        BAR,
        "journey",
        ["entered", "completed", "converted", "still inside"],
        note="Customers who entered each journey in the range, and how far they got.",
    )
    chart.rows = [
        (
            row["name"],
            [
                number(row["entered"]),
                number(row["completed"]),
                number(row["converted"]),
                number(row["active"]),
            ],
        )
        for row in found.rows
        if row["entered"]
    ]
    return chart


def decisions(workspace: Workspace, window: Window) -> Chart:
    chart = Chart(
        "decisions",
        "Top decisions not to send (yet)",
        BAR,
        "decision: reason",
        ["decisions"],
        note="Skips and deferrals in the range, by reason (the customers' ledgers).",
    )
    chart.rows = [
        (f"{ACTION_LABELS[action]}: {reason}", [number(n)])
        for action, reason, n in selectors.top_decisions(workspace, window)
    ]
    return chart


def segment_size(segment: Segment, *, refreshes: int) -> Chart:
    chart = Chart(
        f"segment-{segment.pk}",
        "Size over time",
        LINE,
        "day",
        ["members"],
        note=f"The size recorded by the last refresh of each day (latest {refreshes} days).",
        empty="Not refreshed yet.",
    )
    chart.rows = [
        (day.isoformat(), [number(size)])
        for day, size in selectors.segment_sizes(segment, limit=refreshes)
    ]
    return chart


def journey_nodes(journey: Journey) -> Chart:
    version = journey_selectors.version_numbered(journey, None)
    chart = Chart(
        f"journey-{journey.pk}",
        "Funnel per node",
        BAR,
        "node",
        ["arrived", "waiting now", "left"],
        empty="No version yet.",
    )
    if version is None:
        return chart
    chart.note = (
        f"Version {version.number}, in the order a walk from the start meets its nodes; "
        "totals since it was published."
    )
    chart.rows = [
        (
            f"{node.node_id} ({node.type})",
            [number(node.entered), number(node.waiting), number(sum(node.left.values()))],
        )
        for node in journey_selectors.node_counts(version)
    ]
    return chart


def profile_activity(profile: Profile, window: Window) -> Chart:
    found = selectors.activity_by_week(profile, window)
    channels = sorted({channel for counts in found.values() for channel in counts})
    chart = Chart(
        f"profile-{profile.pk}",
        "Activity by channel",
        STACKED,
        "week of",
        channels,
        note=f"Events per week, {window.start} to {window.end}.",
        empty="No events in this range.",
    )
    chart.rows = [
        (week.isoformat(), [number(counts.get(channel, 0)) for channel in channels])
        for week, counts in sorted(found.items())
    ]
    return chart


def _day(value) -> date:
    return value.date() if hasattr(value, "date") else value
