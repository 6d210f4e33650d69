"""Celery tasks for event processing: thin wrappers around ``processing``.

Events are never handed to the broker one by one: a task claims whatever is
pending in batches. Ingestion asks for a run after each commit (debounced per
process); the beat sweep runs the same task periodically, so events whose
request could not reach the broker are processed once it is back.
"""

import logging
import threading
import time

from celery import shared_task
from django.conf import settings

from . import processing

logger = logging.getLogger(__name__)

# A task stops claiming batches after this long and queues its own
# continuation, so one backlog cannot pin a worker slot for ever.
TASK_TIME_BUDGET_SECONDS = 30.0
# At most two messages per window and process: one at once, one at the end of
# the window for whatever was committed during it.
REQUEST_DEBOUNCE_SECONDS = 0.2
# After a failed publish, do not try the broker again for this long: each try
# can cost the ingestion request a connection timeout, and the sweep will find
# the events anyway.
BROKER_RETRY_AFTER_SECONDS = 5.0

_lock = threading.Lock()
_window_started = float("-inf")
_trailing_sent = False
_broker_down_until = float("-inf")


@shared_task(ignore_result=True)
def process_pending_events() -> int:
    return _process()


@shared_task(ignore_result=True)
def sweep_unprocessed_events() -> int:
    return _process()


def _process() -> int:
    eager = settings.CELERY_TASK_ALWAYS_EAGER
    outcome = processing.run(time_budget=None if eager else TASK_TIME_BUDGET_SECONDS)
    if outcome.remaining:
        process_pending_events.delay()
    return outcome.processed


def request_processing() -> None:
    """Ask a worker to process pending events; never raises.

    A broker outage must not fail ingestion: the events are already committed
    and the periodic sweep will find them. Without a broker (tasks run inline)
    every request processes at once, so a client reading its profile back
    right after sending sees the result.
    """
    global _window_started, _trailing_sent, _broker_down_until
    if settings.CELERY_TASK_ALWAYS_EAGER:
        process_pending_events.delay()
        return
    now = time.monotonic()
    with _lock:
        if now < _broker_down_until:
            return
        if now - _window_started >= REQUEST_DEBOUNCE_SECONDS:
            _window_started, _trailing_sent, countdown = now, False, None
        elif not _trailing_sent:
            _trailing_sent = True
            countdown = REQUEST_DEBOUNCE_SECONDS - (now - _window_started)
        else:
            return
    try:
        process_pending_events.apply_async(countdown=countdown)
    except Exception:
        with _lock:
            _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
        logger.warning(
            "could not reach the broker; the sweep will process the events", exc_info=True
        )
