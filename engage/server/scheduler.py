"""Beat's schedule run in-process, for the embedded default (no broker, no beat).

Deferred messages, retries, the event and segment sweeps, time-dependent
segment refreshes and weekly scores are all periodic tasks. Without a broker
nothing runs beat, so the demo server runs the same entries of
``CELERY_BEAT_SCHEDULE`` on a daemon thread instead, each at its own interval
(a number of seconds or a crontab), calling the task inline as eager mode
calls everything else. With a broker, beat runs them and this stays off.
"""

import logging
import threading
import time
from datetime import UTC, datetime

from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# The longest the loop sleeps, so a crontab entry is checked at least this often.
MAX_SLEEP_SECONDS = 60.0


class Entry:
    """One schedule entry and when it last ran (beat's first run is one interval in)."""

    def __init__(self, name: str, task: str, schedule, now: datetime):
        self.name = name
        self.task = task
        self.schedule = maybe_schedule(schedule)
        self.last_run_at = now

    def due(self) -> tuple[bool, float]:
        """Whether it is due now, and the seconds until it should be checked again."""
        return self.schedule.is_due(self.last_run_at)

    def run(self, now: datetime) -> None:
        self.last_run_at = now
        try:
            import_string(self.task)()
        except Exception:
            # One failing task must not stop the others, nor the next run of it.
            logger.exception("scheduled task %s (%s) failed", self.name, self.task)
        finally:
            close_old_connections()


def entries(now: datetime | None = None) -> list[Entry]:
    now = now or datetime.now(UTC)
    return [
        Entry(name, entry["task"], entry["schedule"], now)
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    ]


def run_forever() -> None:
    """Run every entry when it comes due, for as long as the process lives."""
    schedule = entries()
    while True:
        wait = MAX_SLEEP_SECONDS
        for entry in schedule:
            due, next_check = entry.due()
            if due:
                entry.run(datetime.now(UTC))
            wait = min(wait, next_check)
        time.sleep(max(wait, 0.1))


def start_if_inline() -> threading.Thread | None:
    """Start the loop on a daemon thread when tasks run inline (no broker).

    Call it once, in the process that serves: each process that calls it runs
    every periodic task, which is what beat exists to prevent with a broker.
    """
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    thread = threading.Thread(target=run_forever, name="engage-scheduler", daemon=True)
    thread.start()
    logger.info("running %d periodic tasks in-process", len(settings.CELERY_BEAT_SCHEDULE))
    return thread
