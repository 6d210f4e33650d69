"""Celery tasks of the message pipeline; each is safe to run twice."""

import logging

from celery import shared_task

from . import sending
from .models import Message

logger = logging.getLogger(__name__)


# Registered under its first name, which queued tasks and other versions'
# workers still send.
@shared_task(name="engage.messaging.tasks.deliver_message", ignore_result=True)
def send_message(message_id: int, workspace_id: int | None = None) -> None:
    """Send one message, for ``workspace_id``: a message of another workspace
    is logged and left alone, so an id from the wrong place never sends with
    another tenant's settings. Without ``workspace_id`` (the sweep, which acts
    for every workspace, and tasks queued by older versions) no check."""
    if workspace_id is not None and workspace_id != (
        Message.objects.filter(pk=message_id).values_list("workspace_id", flat=True).first()
    ):
        logger.warning(
            "send_message: message %s is not in workspace %s; nothing done",
            message_id,
            workspace_id,
        )
        return
    sending.send_message(message_id)


@shared_task(ignore_result=True)
def send_messages(message_ids: list[int], workspace_id: int | None = None) -> None:
    """Claim and send the chunk ``message_ids`` over one provider connection
    per channel. With ``workspace_id`` (messages created together) an id of
    another workspace is logged and left alone, as in ``send_message``."""
    if workspace_id is not None:
        mine = set(
            Message.objects.filter(pk__in=message_ids, workspace_id=workspace_id).values_list(
                "pk", flat=True
            )
        )
        for message_id in sorted(set(message_ids) - mine):
            logger.warning(
                "send_messages: message %s is not in workspace %s; nothing done",
                message_id,
                workspace_id,
            )
        message_ids = [message_id for message_id in message_ids if message_id in mine]
    if message_ids:
        sending.send_chunk(message_ids)


@shared_task(ignore_result=True)
def sweep_messages() -> int:
    """Recover messages whose worker died and hand due retries and deferrals
    out, a chunk per task."""
    sending.recover_stuck()
    due = sending.due_message_ids()
    size = sending.chunk_size()
    for start in range(0, len(due), size):
        send_messages.delay(due[start : start + size])
    return len(due)
