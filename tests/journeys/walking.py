"""Enrollments written as entry leaves them, and what a walk left behind
(the ledger, the per-node counts), for the engine's and node types' tests."""

import datetime as dt

from engage.journeys.models import Enrollment, Journey, NodeCount
from engage.journeys.validation import Checker
from engage.messaging.models import MessageDecision

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def enroll(journey: Journey, profiles, *, at=T0, node_id: str | None = None) -> list[Enrollment]:
    """Enrollments at the start (or ``node_id``), due at ``at``."""
    version = journey.live_version
    return [
        Enrollment.objects.create(
            workspace=journey.workspace,
            journey=journey,
            version=version,
            profile=profile,
            node_id=node_id or version.definition["start"],
            next_run_at=at,
            entered_at=at,
        )
        for profile in profiles
    ]


def ledger(enrollment: Enrollment) -> list[tuple]:
    """(action, reason, node) of each ledger row of the enrollment, oldest first."""
    return list(
        MessageDecision.objects.filter(enrollment_id=enrollment.pk)
        .order_by("id")
        .values_list("action", "reason", "journey_node_id")
    )


def counts(journey: Journey) -> dict[tuple[str, str], int]:
    rows = NodeCount.objects.filter(version=journey.live_version)
    return {(row.node_id, row.edge): row.count for row in rows}


def errors(node_type, node: dict, *, workspace=None, path: str = "nodes.step") -> list[str]:
    """What ``node_type.validate`` reports about ``node`` (its own fields:
    ``type`` and ``next`` are the graph's to check); ``workspace`` for the
    checks that look things up in it."""
    checker = Checker(workspace, {"nodes": {"step": node}})
    checker.node_id = "step"
    node_type.validate(checker, node, path)
    return checker.errors
