"""Celery tasks for event processing: thin wrappers around ``processing``.

Events are never handed to the broker one by one: a task claims whatever is
pending in batches. Ingestion asks for a run after each commit (debounced per
process); the beat sweep runs the same task periodically, so events whose
request could not reach the broker are processed once it is back.
"""

from celery import shared_task
from django.conf import settings

from engage.server import publishing

from . import processing

# A task stops claiming batches after this long and queues its own
# continuation, so one backlog cannot pin a worker slot for ever.
TASK_TIME_BUDGET_SECONDS = 30.0


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
    committed and the periodic sweep will find them. Requests from one process
    are coalesced while one is being sent.
    """
    publishing.publish(process_pending_events)
