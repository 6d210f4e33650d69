"""Handing work to Celery once a transaction commits, without failing or slowing it.

The rows that call for the work (a queued message, a segment never filled,
pending events) are committed before anything is published, and a periodic
sweep finds each of them again (``sweep_messages``, ``sweep_stale_segments``,
``sweep_unprocessed_events``). A publish is therefore only a shortcut: it is
sent by a daemon thread of the process, because a publish to a broker that is
down can take seconds (the Redis client retries a refused connection, an
unreachable host costs the whole connect timeout). When it fails, the
outage is logged once per interval and the publish is retried later; a
publish lost with its process, or beyond ``MAX_PENDING``, is left to the sweep.
Every task published this way must be safe to run twice.

Without a broker (tasks run inline) the task runs in the caller at once, so
a client reading back right after its request sees the result.
"""

import logging
import os
import threading
import time

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# After a successful publish, wait this long so that identical requests
# arriving meanwhile are coalesced into one message.
DEBOUNCE_SECONDS = 0.2
# After a failed publish, leave the broker alone for this long.
BROKER_RETRY_AFTER_SECONDS = 5.0
# Publishes kept for retry during an outage; beyond this the sweeps catch up.
MAX_PENDING = 10_000
LOG_INTERVAL_SECONDS = 60.0


def publish_after_commit(task, *args) -> None:
    """Run ``task(*args)`` on a worker once the current transaction commits."""
    transaction.on_commit(lambda: publish(task, *args))


def publish(task, *args) -> None:
    """Ask a worker to run ``task(*args)``; never raises, never waits on the broker."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.delay(*args)
        return
    _publisher().submit(task, args)


class _Publisher:
    """The daemon thread of a process that sends its publishes, in order, each once."""

    def __init__(self):
        self.pid = os.getpid()
        self.lock = threading.Lock()
        # (task name, repr of args) -> (task, args): insertion-ordered and deduplicated.
        self.pending: dict[tuple[str, str], tuple] = {}
        self.dropped = 0
        self.failures = 0
        self.last_report = float("-inf")
        self.wanted = threading.Event()
        threading.Thread(target=self._run, name="engage-publisher", daemon=True).start()

    def submit(self, task, args: tuple) -> None:
        with self.lock:
            if len(self.pending) < MAX_PENDING:
                self.pending[(task.name, repr(args))] = (task, args)
            else:
                self.dropped += 1
        self.wanted.set()

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            with self.lock:
                batch, self.pending = self.pending, {}
            items = list(batch.items())
            for position, (_, (task, args)) in enumerate(items):
                try:
                    task.apply_async(args)
                except Exception as exc:
                    self._keep(items[position:])
                    self._report(exc)
                    time.sleep(BROKER_RETRY_AFTER_SECONDS)
                    self.wanted.set()
                    break
            else:
                time.sleep(DEBOUNCE_SECONDS)

    def _keep(self, items) -> None:
        """Put the unsent publishes back in front of those submitted meanwhile."""
        with self.lock:
            merged = dict(items)
            merged.update(self.pending)
            while len(merged) > MAX_PENDING:
                merged.pop(next(reversed(merged)))
                self.dropped += 1
            self.pending = merged

    def _report(self, exc: Exception) -> None:
        self.failures += 1
        now = time.monotonic()
        if now - self.last_report < LOG_INTERVAL_SECONDS:
            return
        self.last_report = now
        logger.warning(
            "cannot reach the broker (%d failed publishes, %d left to the sweeps so far): %s; "
            "retrying every %.0fs",
            self.failures,
            self.dropped,
            exc,
            BROKER_RETRY_AFTER_SECONDS,
        )


_publisher_lock = threading.Lock()
_current: _Publisher | None = None


def _publisher() -> _Publisher:
    """This process's publisher (a forked worker starts its own: threads do not survive fork)."""
    global _current
    with _publisher_lock:
        if _current is None or _current.pid != os.getpid():
            _current = _Publisher()
        return _current
