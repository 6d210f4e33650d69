from django.db.models import Count, QuerySet

from engage.messaging.models import Message
from engage.workspaces.models import Workspace

from .models import Broadcast


def broadcasts(*, workspace: Workspace) -> QuerySet[Broadcast]:
    return Broadcast.objects.filter(workspace=workspace).select_related(
        "segment", "journey", "template"
    )


def broadcast(*, workspace: Workspace, broadcast_id: int) -> Broadcast | None:
    return broadcasts(workspace=workspace).filter(pk=broadcast_id).first()


def message_counts(broadcast: Broadcast) -> dict[str, int]:
    """{status: how many} of the broadcast's messages, every run's. Its
    messages are found by their idempotency keys (``broadcast:<id>:``), so
    this reads the workspace's broadcast messages: a read for a page, not a loop."""
    rows = (
        Message.objects.filter(
            workspace_id=broadcast.workspace_id,
            source=Message.BROADCAST,
            idempotency_key__startswith=broadcast.key_prefix,
        )
        .values("status")
        .annotate(count=Count("pk"))
    )
    return {row["status"]: row["count"] for row in rows}
