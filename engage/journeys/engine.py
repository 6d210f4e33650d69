"""The journey engine's entrances: ``advance`` runs the steps that are due
(``steps`` holds how), ``kick`` has them run soon after a commit made some
due (an entry, a wake), so nobody waits for beat's next sweep."""

import logging

from celery import current_task
from django.conf import settings
from django.db import transaction

from engage.messaging.tasks import send_messages
from engage.server.publishing import publish, run_here

from .steps import StepBatch, advance, advance_due
from .tasks import advance_journeys

__all__ = ["StepBatch", "advance", "advance_due", "kick"]

logger = logging.getLogger(__name__)

# A worker that made steps due runs one batch of this many itself, and
# sends the first chunk of messages they create, before the broker hears of
# the rest: the shortest path from an event to its message, yet bounded, so a
# large entry still spreads over the workers.
HERE_LIMIT = 50


def kick() -> None:
    """Have the due steps run once the current transaction commits: here,
    when this is a worker, a batch of them, then by a worker for the rest."""
    transaction.on_commit(_run_due)


def _run_due() -> None:
    if _in_worker():
        try:
            with run_here(send_messages, limit=1):
                if advance(limit=HERE_LIMIT) < HERE_LIMIT:
                    return
        except Exception:
            # The batch rolled back whole; another worker runs it again.
            logger.exception("running due journey steps in this worker failed")
    publish(advance_journeys)


def _in_worker() -> bool:
    """Whether this runs in a Celery worker's task (not a web request, not
    eager tasks, which already run everything in the caller)."""
    # ``current_task`` is a proxy: false outside a task.
    return (
        not settings.CELERY_TASK_ALWAYS_EAGER
        and bool(current_task)
        and not current_task.request.is_eager
    )
