"""Reading journeys: what each node did, who is where, and a customer's journeys."""

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from engage.profiles.models import Profile
from engage.workspaces.models import Workspace

from . import graph
from .models import Enrollment, Journey, JourneyVersion, NodeCount

ACTIVE = "active"
ENDED = "ended"
STATUSES = (ACTIVE, ENDED, *(reason for reason, _ in Enrollment.END_REASONS))


@dataclass
class NodeCounts:
    """One node of a version: how many arrived, how many stand there now
    (``waiting``: parked at it, or due to run it), and how many left by each
    edge (an enrollment parked at a wait counts in ``waiting``, and in
    ``left`` once it goes on)."""

    node_id: str
    type: str
    entered: int = 0
    waiting: int = 0
    left: dict[str, int] = field(default_factory=dict)


def journeys(*, workspace: Workspace) -> QuerySet[Journey]:
    return Journey.objects.filter(workspace=workspace).select_related("live_version")


def journey(*, workspace: Workspace, journey_id: int) -> Journey | None:
    """The workspace's journey ``journey_id`` (another workspace's is None)."""
    return journeys(workspace=workspace).filter(pk=journey_id).select_related("workspace").first()


def version_numbered(journey: Journey, number: int | None) -> JourneyVersion | None:
    """The version ``number``; without one the live version, else the newest."""
    if number is not None:
        return journey.versions.filter(number=number).first()
    if journey.live_version_id is not None:
        return journey.live_version
    return journey.versions.order_by("-number").first()


def node_counts(version: JourneyVersion) -> list[NodeCounts]:
    """Every node of ``version``, in the order a walk from ``start`` meets them.

    Arrivals and departures are the engine's running totals (``NodeCount``,
    one row per node and edge); who stands at a node now is counted from the
    active enrollments, so it is exact at the moment of reading.
    """
    nodes = version.definition.get("nodes", {})
    rows = {
        node_id: NodeCounts(node_id=node_id, type=nodes[node_id].get("type", ""))
        for node_id in walk_order(version.definition)
    }
    for node_id, edge, count in NodeCount.objects.filter(version=version).values_list(
        "node_id", "edge", "count"
    ):
        row = rows.get(node_id)
        if row is None:
            continue
        if edge:
            row.left[edge] = count
        else:
            row.entered = count
    standing = (
        Enrollment.objects.filter(version=version, ended_at__isnull=True)
        .values("node_id")
        .annotate(n=Count("id"))
        .values_list("node_id", "n")
    )
    for node_id, count in standing:
        if node_id in rows:
            rows[node_id].waiting = count
    return list(rows.values())


def walk_order(definition: dict) -> list[str]:
    """The node ids breadth-first from ``start``, then any no edge reaches, by id.

    A definition's object keys come back from PostgreSQL's JSONB in its own
    order, not the author's; the walk is an order the graph itself gives.
    """
    nodes = definition.get("nodes", {})
    order: list[str] = []
    queue = [definition.get("start")]
    while queue:
        node_id = queue.pop(0)
        if node_id in nodes and node_id not in order:
            order.append(node_id)
            queue.extend(graph.edges(nodes[node_id]).values())
    return order + sorted(set(nodes) - set(order))


def enrollments(journey: Journey, *, status: str = "", node_id: str = "") -> QuerySet[Enrollment]:
    """The journey's enrollments, optionally only those ``status`` (``active``,
    ``ended`` or an end reason) or standing at ``node_id``."""
    rows = Enrollment.objects.filter(journey=journey).select_related("journey", "version")
    if status == ACTIVE:
        rows = rows.filter(ended_at__isnull=True)
    elif status == ENDED:
        rows = rows.filter(ended_at__isnull=False)
    elif status:
        rows = rows.filter(end_reason=status)
    if node_id:
        rows = rows.filter(node_id=node_id)
    return rows


def profile_enrollments(profile: Profile) -> QuerySet[Enrollment]:
    """Every journey the customer is in or was in, with the journey and version."""
    return Enrollment.objects.filter(profile=profile).select_related("journey", "version")
