"""Celery tasks for event processing: thin wrappers around ``processing``.

Events are never handed to the broker one by one: a task claims whatever is
pending in batches. Ingestion asks for a run after each commit (debounced per
process); the beat sweep runs the same task periodically, so events whose
request could not reach the broker are processed once it is back.
"""

import logging
import time

from celery import shared_task

from . import processing

logger = logging.getLogger(__name__)

REQUEST_DEBOUNCE_SECONDS = 0.2
_last_request = 0.0


@shared_task(ignore_result=True)
def process_pending_events() -> int:
    return processing.process_pending()


@shared_task(ignore_result=True)
def sweep_unprocessed_events() -> int:
    return processing.process_pending()


def request_processing() -> None:
    """Ask a worker to process pending events; never raises.

    A broker outage must not fail ingestion: the events are already committed
    and the periodic sweep will find them.
    """
    global _last_request
    now = time.monotonic()
    if now - _last_request < REQUEST_DEBOUNCE_SECONDS:
        return
    _last_request = now
    try:
        process_pending_events.delay()
    except Exception:
        logger.warning(
            "could not reach the broker; the sweep will process the events", exc_info=True
        )
