"""Nightly co-purchase counts (celery beat).

The beat task fans out one task per workspace, so a big workspace does not
hold up the others and a failure is retried for that workspace alone; a
workspace that turned ``bought_together`` off is skipped. Computing replaces
the counts, so running twice is harmless.
"""

import logging

from celery import shared_task

from engage.plugins.models import PluginConfig
from engage.workspaces.models import Workspace

from .copurchase import compute_copurchases

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def compute_all_copurchases() -> int:
    off = PluginConfig.objects.filter(plugin_id="bought_together", enabled=False)
    ids = list(
        Workspace.objects.exclude(pk__in=off.values("workspace_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for workspace_id in ids:
        compute_workspace_copurchases.delay(workspace_id)
    return len(ids)


@shared_task(ignore_result=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=60)
def compute_workspace_copurchases(workspace_id: int) -> int:
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    pairs = compute_copurchases(workspace)
    logger.info("co-purchase counts: %s pairs in workspace %s", pairs, workspace_id)
    return pairs
