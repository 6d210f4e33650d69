"""Celery tasks of the message pipeline; each is safe to run twice."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def deliver_message(message_id: int) -> None:
    services.deliver(message_id)


@shared_task(ignore_result=True)
def sweep_messages() -> int:
    """Recover messages whose worker died and hand due retries and deferrals out."""
    services.recover_stuck()
    due = services.due_message_ids()
    for message_id in due:
        deliver_message.delay(message_id)
    return len(due)
