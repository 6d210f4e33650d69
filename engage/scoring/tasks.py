"""Weekly scoring (celery beat) and on-demand runs.

The beat task only fans out one task per workspace, so a big workspace does
not hold up the others and a failure is retried for that workspace alone.
Computing is idempotent: a second run in the same week replaces the week's
history row instead of adding one.
"""

import logging

from celery import shared_task

from engage.workspaces.models import Workspace

from .services import compute_workspace

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def compute_all_workspaces() -> int:
    ids = list(Workspace.objects.order_by("pk").values_list("pk", flat=True))
    for workspace_id in ids:
        compute_workspace_scores.delay(workspace_id)
    return len(ids)


@shared_task(ignore_result=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=60)
def compute_workspace_scores(workspace_id: int) -> int:
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    runs = compute_workspace(workspace)
    for run in runs:
        logger.info(
            "scored %s rows of %s in workspace %s in %.1fs",
            run.rows,
            run.model,
            workspace_id,
            run.seconds,
        )
    return sum(run.rows for run in runs)
