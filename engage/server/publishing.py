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

A worker that has just made work due can take a bounded share of it itself
(``run_here``): the publish then runs the task in that worker right after the
commit, which saves the broker hop and the next worker's pick-up on the path
from an event to its message; the rest still goes through the broker.
"""

import logging
import os
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# After a successful publish, hold a request identical to it this long, so
# that those arriving meanwhile are coalesced into one message; any other
# request is published at once.
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
    if _take_here(task):
        try:
            task(*args)
            return
        except Exception:
            logger.exception("%s failed in this worker; handing it to another", task.name)
    _publisher().submit(task, args)


_here = threading.local()


@contextmanager
def run_here(task, limit: int):
    """Within this block, the first ``limit`` publishes of ``task`` run it in
    this thread instead (after their commit, as always), the rest go to the
    broker. A task that fails here is published, as it is safe to run twice."""
    outer = getattr(_here, "quotas", {})
    _here.quotas = {**outer, task.name: limit}
    try:
        yield
    finally:
        _here.quotas = outer


def _take_here(task) -> bool:
    quotas = getattr(_here, "quotas", {})
    if quotas.get(task.name, 0) <= 0:
        return False
    quotas[task.name] -= 1
    return True


class _Publisher:
    """The daemon thread of a process that sends its publishes, in order, each once."""

    def __init__(self):
        self.pid = os.getpid()
        self.lock = threading.Lock()
        # (task name, repr of args) -> (task, args): insertion-ordered and deduplicated.
        self.pending: dict[tuple[str, str], tuple] = {}
        # key -> when it was last published, oldest first; only keys still held.
        self.recent: dict[tuple[str, str], float] = {}
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
        held_until = None
        while True:
            self.wanted.wait(
                None if held_until is None else max(0.0, held_until - time.monotonic())
            )
            self.wanted.clear()
            items, held_until = self._due()
            for position, (key, (task, args)) in enumerate(items):
                try:
                    task.apply_async(args)
                except Exception as exc:
                    self._keep(items[position:])
                    self._report(exc)
                    time.sleep(BROKER_RETRY_AFTER_SECONDS)
                    self.wanted.set()
                    break
                self.recent[key] = time.monotonic()

    def _due(self) -> tuple[list, float | None]:
        """Take the pending publishes not held by the debounce; and when the
        first held one is free to go (None when none is held)."""
        now = time.monotonic()
        while self.recent:
            key, published = next(iter(self.recent.items()))
            if published > now - DEBOUNCE_SECONDS:
                break
            del self.recent[key]
        with self.lock:
            due = [item for item in self.pending.items() if item[0] not in self.recent]
            for key, _ in due:
                del self.pending[key]
            held = [self.recent[key] for key in self.pending]
        return due, (min(held) + DEBOUNCE_SECONDS if held else None)

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
