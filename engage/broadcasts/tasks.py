"""Celery task of broadcasts; safe to run twice (a slice moves its cursor
in the transaction that hands it out)."""

from celery import shared_task

from . import runs


@shared_task(ignore_result=True)
def run_broadcasts() -> int:
    """One slice of each due broadcast (beat, every ``ENGAGE_BROADCAST_SECONDS``)."""
    return runs.run_due()
