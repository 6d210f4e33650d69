"""Computing scores: a whole workspace per model, then this week's history row."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from engage.workspaces.models import Workspace

from .models import settings_for
from .registry import selected_models


@dataclass(frozen=True)
class ModelRun:
    workspace: Workspace
    model: str
    rows: int
    seconds: float


def week_of(moment: datetime) -> date:
    """The Monday of the (UTC) week of ``moment``."""
    day = moment.astimezone(UTC).date() if timezone.is_aware(moment) else moment.date()
    return day - timedelta(days=day.weekday())


def record_week(*, workspace: Workspace, model: str, week: date) -> None:
    """Copy the model's current scores into the history row of ``week``
    (replacing a value computed earlier in the same week)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scoring_scorehistory (workspace_id, profile_id, model, week, value, cell) "
            "SELECT workspace_id, profile_id, model, %s, value, cell "
            "FROM scoring_score WHERE workspace_id = %s AND model = %s "
            "ON CONFLICT (profile_id, model, week) "
            "DO UPDATE SET value = excluded.value, cell = excluded.cell",
            [connection.ops.adapt_datefield_value(week), workspace.pk, model],
        )


def compute_workspace(
    workspace: Workspace,
    *,
    model_ids: list[str] | None = None,
    as_of: datetime | None = None,
    progress: Callable[[ModelRun], None] | None = None,
) -> list[ModelRun]:
    """Compute the models (all installed by default) for one workspace.

    Each model replaces its rows in its own transaction, so readers see the old
    scores or the new ones, never a half-written workspace, and a failure in
    one model leaves the others computed.
    """
    as_of = as_of or timezone.now()
    settings = settings_for(workspace)
    runs = []
    for model_class in selected_models(model_ids):
        started = time.perf_counter()
        with transaction.atomic():
            rows = model_class().compute(workspace=workspace, settings=settings, as_of=as_of)
            record_week(workspace=workspace, model=model_class.id, week=week_of(as_of))
        run = ModelRun(workspace, model_class.id, rows, time.perf_counter() - started)
        runs.append(run)
        if progress:
            progress(run)
    return runs
