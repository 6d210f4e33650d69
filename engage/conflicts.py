"""Errors a transaction meets when it loses a race with another one.

PostgreSQL aborts one of two transactions waiting on each other (a
deadlock), or one whose snapshot can no longer be serialized, or one told
not to wait for a lock. Nothing of the aborted transaction was kept, so work
that is idempotent (processing an event, re-checking segments) simply runs
again.
"""

from django.db import DatabaseError

# deadlock_detected, serialization_failure, lock_not_available.
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}


def lost_race(exc: DatabaseError) -> bool:
    """Whether ``exc`` is the database aborting a transaction that lost a race."""
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES
