"""Journeys: entered, completed, converted, exited by reason; per node.

Per journey (``rows``), over the enrollments that *entered* between ``start``
and the end of ``end``: ``entered``; ``active`` (still in it); one count per
end reason (``completed``: reached an exit node; ``converted``: met the
journey's goal; ``exited_condition``, ``merged``, ``erased``,
``journey_stopped``, ``version_removed``); ``completion_rate`` =
completed / entered and ``conversion_rate`` = converted / entered.

Per node (``nodes``), for each journey's live version (else its newest):
the engine's running totals (``NodeCount``), which count every arrival since
the version was published and are not limited to the range: ``entered`` (arrived),
``waiting`` (standing there now), ``left`` (left by any edge) and
``completion_rate`` = left / entered.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count

from engage.journeys import selectors as journey_selectors
from engage.journeys.models import Enrollment
from engage.workspaces.models import Workspace

from .window import Window, ratio

REASONS = tuple(reason for reason, _ in Enrollment.END_REASONS)


@dataclass
class Journeys:
    rows: list[dict] = field(default_factory=list)
    nodes: list[dict] = field(default_factory=list)


def journeys(
    workspace: Workspace, *, start: date, end: date, journey: int | None = None
) -> Journeys:
    result = Journeys()
    chosen = journey_selectors.journeys(workspace=workspace).order_by("pk")
    if journey is not None:
        chosen = chosen.filter(pk=journey)
    chosen = list(chosen)
    counts: dict[int, dict[str, int]] = {j.pk: {} for j in chosen}
    if start <= end:
        window = Window(start, end)
        enrolled = (
            Enrollment.objects.filter(
                workspace=workspace,
                journey__in=chosen,
                entered_at__gte=window.start_at,
                entered_at__lte=window.end_at,
            )
            .values_list("journey_id", "end_reason")
            .annotate(n=Count("id"))
        )
        for journey_id, reason, n in enrolled:
            counts[journey_id][reason or "active"] = n
    for item in chosen:
        found = counts[item.pk]
        entered = sum(found.values())
        row = {"journey_id": item.pk, "name": item.name, "entered": entered}
        row["active"] = found.get("active", 0)
        row.update({reason: found.get(reason, 0) for reason in REASONS})
        row["completion_rate"] = ratio(row[Enrollment.COMPLETED], entered)
        row["conversion_rate"] = ratio(row[Enrollment.CONVERTED], entered)
        result.rows.append(row)
        version = journey_selectors.version_numbered(item, None)
        if version is None:
            continue
        for node in journey_selectors.node_counts(version):
            left = sum(node.left.values())
            result.nodes.append(
                {
                    "journey_id": item.pk,
                    "version": version.number,
                    "node_id": node.node_id,
                    "type": node.type,
                    "entered": node.entered,
                    "waiting": node.waiting,
                    "left": left,
                    "completion_rate": ratio(left, node.entered),
                }
            )
    return result
