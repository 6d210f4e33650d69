"""Celery tasks of the journey engine; each is safe to run twice."""

from celery import shared_task

from . import steps


@shared_task(ignore_result=True)
def advance_journeys() -> int:
    """Run the steps that are due, batch after batch, for a bounded time."""
    return steps.advance_due()
