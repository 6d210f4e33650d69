"""The daily rollup (celery beat), fanned out one task per workspace so a
big workspace does not hold up the others and a failure is retried alone.
A run is idempotent: it replaces the days it computes."""

from celery import shared_task
from django.utils import timezone

from engage.workspaces.models import Workspace

from .services import roll_up


@shared_task(ignore_result=True)
def roll_up_all_workspaces() -> int:
    ids = list(Workspace.objects.order_by("pk").values_list("pk", flat=True))
    for workspace_id in ids:
        roll_up_workspace.delay(workspace_id)
    return len(ids)


@shared_task(ignore_result=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=60)
def roll_up_workspace(workspace_id: int) -> None:
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        roll_up(workspace, today=timezone.now().date())
