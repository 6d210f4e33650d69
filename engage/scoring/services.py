"""Computing scores: a whole workspace per model, then this week's history row.

Scoring models are plugins (``engage_scoring_models``), registered and
configured like channels: every installed model scores every workspace unless
the workspace's plugin configuration disables it, and that configuration's
settings are what the model is instantiated with.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from engage.dialect import Dialect
from engage.plugins.base import Run, ScoringModel, SettingsError
from engage.plugins.manager import get_scoring_model_class, scoring_models
from engage.plugins.models import PluginConfig
from engage.workspaces.models import Workspace

from .kinds import kinds_cte

# First key of the transaction-level advisory lock taken per workspace while
# its scores are rewritten (the second key is the workspace id).
LOCK_KEY = 0x5C0E


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


def selected_models(model_ids: list[str] | None = None) -> list[type[ScoringModel]]:
    """The models named (every installed one by default); UnknownPlugin
    names the unknown id and the installed ones."""
    if not model_ids:
        return list(scoring_models().values())
    return [get_scoring_model_class(model_id) for model_id in model_ids]


def workspace_models(
    workspace: Workspace, model_ids: list[str] | None = None
) -> list[ScoringModel]:
    """The selected models as the workspace configures them, leaving out those
    it disables.

    A model without a configuration row is on with its default settings, so a
    workspace never loses its scores because nobody configured it; a row only
    turns a model off or overrides its settings. Settings that no longer
    validate (stored before a plugin upgrade changed its schema) fall back to
    the defaults rather than stop the workspace's other scores.
    """
    classes = selected_models(model_ids)
    configs = {
        config.plugin_id: config
        for config in PluginConfig.objects.filter(
            workspace=workspace, plugin_id__in=[cls.id for cls in classes]
        )
    }
    models = []
    for cls in classes:
        config = configs.get(cls.id)
        if config is not None and not config.enabled:
            continue
        try:
            settings = cls.validate_settings(config.settings if config else {})
        except SettingsError:
            settings = cls.validate_settings({})
        models.append(cls(settings))
    return models


def compute_model(model: ScoringModel, *, workspace: Workspace, as_of: datetime) -> int:
    """Replace ``model``'s scores in ``workspace`` with its SELECT's result,
    inside the caller's transaction; returns the rows written."""
    sql = Dialect(connection)
    run = Run(
        workspace_id=workspace.pk,
        as_of=as_of,
        sql=sql,
        kinds=kinds_cte(workspace.pk),
    )
    select, params = model.select(run)
    with connection.cursor() as cursor:
        if sql.pg:
            # Two runs for one workspace (the weekly task and compute_scores)
            # take turns instead of colliding on the rows the other wrote.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_KEY, workspace.pk])
        cursor.execute(
            "DELETE FROM scoring_score WHERE workspace_id = %s AND model = %s",
            [workspace.pk, model.id],
        )
        columns = "workspace_id, profile_id, model, value, cell, components, computed_at"
        values = "%s, s.profile_id, %s, s.value, COALESCE(s.cell, ''), s.components, %s"
        insert = f"INSERT INTO scoring_score ({columns}) SELECT {values} FROM ({select}) s"  # noqa: S608 (a model's fixed SQL; values are parameters)
        cursor.execute(insert, [workspace.pk, model.id, sql.ts(as_of), *params])
        return cursor.rowcount


def compute_workspace(
    workspace: Workspace,
    *,
    model_ids: list[str] | None = None,
    as_of: datetime | None = None,
    progress: Callable[[ModelRun], None] | None = None,
) -> list[ModelRun]:
    """Compute the models (all installed by default) the workspace has not
    disabled.

    Each model replaces its rows in its own transaction, so readers see the old
    scores or the new ones, never a half-written workspace, and a failure in
    one model leaves the others computed.
    """
    as_of = as_of or timezone.now()
    runs = []
    for model in workspace_models(workspace, model_ids):
        started = time.perf_counter()
        with transaction.atomic():
            rows = compute_model(model, workspace=workspace, as_of=as_of)
            record_week(workspace=workspace, model=model.id, week=week_of(as_of))
        run = ModelRun(workspace, model.id, rows, time.perf_counter() - started)
        runs.append(run)
        if progress:
            progress(run)
    return runs
