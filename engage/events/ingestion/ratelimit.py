"""Requests per second per workspace, counted in the shared cache.

A fixed one-second window: one atomic counter per workspace per second, so all
gunicorn workers and hosts share it (Redis in production and tests). On Redis
the increment and its expiry go in one pipelined round trip; other cache
backends use ``cache.add``/``cache.incr``. The limiter fails open: if the cache
is unreachable, ingestion carries on (losing events would be worse than
over-admitting them for a moment). An outage is logged once per
``OUTAGE_LOG_SECONDS`` per process, with how many requests were admitted
uncounted meanwhile, rather than a traceback per request, which flooded the
log while Redis was down.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from .errors import IngestError

logger = logging.getLogger(__name__)

KEY_TEMPLATE = "engage:ingest-rate:{workspace}:{second}"
WINDOW_TTL_SECONDS = 2  # keep a window's counter a little past its second
OUTAGE_LOG_SECONDS = 60


class _Outage:
    """This process's view of a cache outage: when it was last logged, what was let through."""

    def __init__(self):
        self.lock = threading.Lock()
        self.logged_at: float | None = None  # None: the cache answers
        self.admitted = 0  # requests admitted uncounted since the last log line

    def failed(self, now: float, exc: Exception) -> None:
        with self.lock:
            self.admitted += 1
            if self.logged_at is None:
                logger.warning(
                    "rate limiter unavailable (%s: %s); admitting requests uncounted until "
                    "it is back, logged again every %d s",
                    type(exc).__name__,
                    exc,
                    OUTAGE_LOG_SECONDS,
                )
            elif now - self.logged_at >= OUTAGE_LOG_SECONDS:
                logger.warning(
                    "rate limiter still unavailable (%s: %s); %d request(s) admitted uncounted "
                    "in the last %d s",
                    type(exc).__name__,
                    exc,
                    self.admitted,
                    round(now - self.logged_at),
                )
            else:
                return
            self.logged_at = now
            self.admitted = 0

    def recovered(self) -> None:
        with self.lock:
            if self.logged_at is None:
                return
            logger.warning(
                "rate limiter available again; %d request(s) admitted uncounted since the last "
                "log line",
                self.admitted,
            )
            self.logged_at = None
            self.admitted = 0


_outage = _Outage()


def check_rate(workspace_id: int, limit: int | None) -> None:
    """Count one request for the workspace; 429 with Retry-After over ``limit`` per second.

    ``limit`` None means the server default.
    """
    if limit is None:
        limit = settings.ENGAGE_DEFAULT_RATE_LIMIT
    now = time.time()
    second = int(now)
    try:
        count = _increment(KEY_TEMPLATE.format(workspace=workspace_id, second=second))
    except Exception as exc:  # any cache failure: fail open
        _outage.failed(now, exc)
        return
    if _outage.logged_at is not None:
        _outage.recovered()
    if count > limit:
        raise IngestError.field(
            429,
            "rate_limited",
            "workspace",
            f"more than {limit} requests per second; retry after the time in Retry-After",
            headers={"Retry-After": "1"},
        )


def _increment(key: str) -> int:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # One round trip instead of the EXISTS + INCR (+ SET) that cache.incr costs.
        full_key = cache.make_and_validate_key(key)
        pipe = cache._cache.get_client(full_key, write=True).pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, WINDOW_TTL_SECONDS)
        count, _ = pipe.execute()
        return count
    if cache.add(key, 1, timeout=WINDOW_TTL_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_TTL_SECONDS)
        return 1
