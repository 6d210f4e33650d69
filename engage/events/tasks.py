"""Celery tasks for event processing: thin wrappers around ``processing``.

Events are never handed to the broker one by one: a task claims whatever is
pending in batches. Ingestion asks for a run after each commit (debounced per
process); the beat sweep runs the same task periodically, so events whose
request could not reach the broker are processed once it is back.
"""

import logging
import os
import threading
import time

from celery import shared_task
from django.conf import settings

from . import processing

logger = logging.getLogger(__name__)

# A task stops claiming batches after this long and queues its own
# continuation, so one backlog cannot pin a worker slot for ever.
TASK_TIME_BUDGET_SECONDS = 30.0
# At most one message per window and process; requests arriving meanwhile are
# coalesced into the next message.
REQUEST_DEBOUNCE_SECONDS = 0.2
# After a failed publish, leave the broker alone for this long: the sweep will
# find the events anyway.
BROKER_RETRY_AFTER_SECONDS = 5.0


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
    """Ask a worker to process pending events; never raises, never waits on the broker.

    A broker outage must not fail or slow ingestion: the events are already
    committed and the periodic sweep will find them. Without a broker (tasks
    run inline) every request processes at once, so a client reading its
    profile back right after sending sees the result.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        process_pending_events.delay()
        return
    _publisher().wanted.set()


class _Publisher:
    """The daemon thread of a process that sends its processing requests.

    Ingestion only sets a flag, because publishing can take seconds when the
    broker is down (a refused connection is retried by the Redis client, an
    unreachable host costs the whole connect timeout). A request that arrives
    while a message is being sent is coalesced into the next one. A request
    lost with its process is found by the sweep.
    """

    def __init__(self):
        self.pid = os.getpid()
        self.wanted = threading.Event()
        threading.Thread(target=self._run, name="engage-processing-requests", daemon=True).start()

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            try:
                process_pending_events.apply_async()
            except Exception:
                logger.warning(
                    "could not reach the broker; the sweep will process the events", exc_info=True
                )
                time.sleep(BROKER_RETRY_AFTER_SECONDS)
            else:
                time.sleep(REQUEST_DEBOUNCE_SECONDS)


_publisher_lock = threading.Lock()
_current: _Publisher | None = None


def _publisher() -> _Publisher:
    """This process's publisher (a forked worker starts its own: threads do not survive fork)."""
    global _current
    with _publisher_lock:
        if _current is None or _current.pid != os.getpid():
            _current = _Publisher()
        return _current
