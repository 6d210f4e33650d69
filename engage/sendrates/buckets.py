"""Provider send rates: at most ``send_rate`` messages per second per
workspace and channel, across every worker and host.

Each send books the next free instant of its channel (a token bucket of one
token, refilled every ``1 / send_rate`` seconds, i.e. the generic cell rate
algorithm): the booking returns how long to wait for it, and the worker
sleeps that long before the provider call. Booking one token at a time,
never a burst, is what keeps any one second at or under the rate, which is
how providers such as Twilio and WhatsApp count.

Where Redis is the cache (``REDIS_URL``), the booking is one Lua script on
Redis, timed by Redis's clock so hosts' clocks need not agree. Without Redis
(the embedded SQLite default) or when Redis does not answer, it is a row of
``SendRateBucket`` locked for the booking; on SQLite the single writer does
the locking.
"""

import logging
import time
from datetime import timedelta

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import SendRateBucket

logger = logging.getLogger(__name__)

# The longest a worker sleeps for one booking when the rate's interval is
# shorter; a booking further away is refused, so a crowd of workers on one
# slow channel gives its messages back to the queue instead of sleeping on them.
MAX_WAIT_SECONDS = 2.0

KEY_TEMPLATE = "engage:send-rate:{workspace}:{channel}"

# KEYS[1]: the bucket; ARGV: interval, longest wait (seconds). Returns
# {1 booked / 0 refused, seconds to wait as a string}.
_BOOK = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval = tonumber(ARGV[1])
local longest = tonumber(ARGV[2])
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if next_at < now then next_at = now end
local wait = next_at - now
if wait > longest then return {0, tostring(wait)} end
redis.call('SET', KEYS[1], tostring(next_at + interval), 'PX',
           math.ceil((wait + interval) * 1000) + 1000)
return {1, tostring(wait)}
"""


def send_rate(channel) -> float | None:
    """The channel's configured messages per second, None when unlimited."""
    return channel.settings.get("send_rate") or None


def book(*, workspace_id: int, channel_id: str, rate: float, longest: float) -> tuple[bool, float]:
    """Book the channel's next send: (booked, seconds until it may go). Not
    booked when that is more than ``longest`` seconds away."""
    interval = 1.0 / rate
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        try:
            key = cache.make_and_validate_key(
                KEY_TEMPLATE.format(workspace=workspace_id, channel=channel_id)
            )
            client = cache._cache.get_client(key, write=True)
            booked, wait = client.eval(_BOOK, 1, key, repr(interval), repr(longest))
            return bool(booked), float(wait)
        except Exception as exc:
            logger.warning("send rates: Redis failed (%s), booking in the database", exc)
    return _book_in_database(workspace_id, channel_id, interval, longest)


def _book_in_database(
    workspace_id: int, channel_id: str, interval: float, longest: float
) -> tuple[bool, float]:
    with transaction.atomic():
        bucket = (
            SendRateBucket.objects.select_for_update()
            .filter(workspace_id=workspace_id, channel=channel_id)
            .first()
        )
        now = timezone.now()
        if bucket is None:
            try:
                with transaction.atomic():
                    SendRateBucket.objects.create(
                        workspace_id=workspace_id,
                        channel=channel_id,
                        next_at=now + timedelta(seconds=interval),
                    )
                return True, 0.0
            except IntegrityError:  # another worker created it meanwhile
                bucket = SendRateBucket.objects.select_for_update().get(
                    workspace_id=workspace_id, channel=channel_id
                )
        next_at = max(bucket.next_at, now)
        wait = (next_at - now).total_seconds()
        if wait > longest:
            return False, wait
        bucket.next_at = next_at + timedelta(seconds=interval)
        bucket.save(update_fields=["next_at"])
    return True, wait


def wait_for_turn(channel, *, patience: float) -> float:
    """Wait until ``channel`` may hand over its next message: 0.0 once it
    may, or the seconds until it could when that is further away than the
    worker should sleep (``patience``, or ``MAX_WAIT_SECONDS`` / one
    interval, whichever is shorter); the caller then gives its messages
    back to the queue for that long.

    Why sleep rather than always requeue: the claimed messages stay claimed
    while the worker sleeps, so at-most-once holds as it does for any chunk
    (each is still stamped just before its provider call, and one cancelled
    meanwhile is not sent), and the sleep is exactly as long as the booking,
    so nothing polls. Sleeps stay short so a chunk never outlives the
    sending timeout.
    """
    rate = send_rate(channel)
    if rate is None:
        return 0.0
    longest = min(max(MAX_WAIT_SECONDS, 1.0 / rate), patience)
    workspace_id = channel.workspace.pk
    booked, wait = book(
        workspace_id=workspace_id, channel_id=channel.id, rate=rate, longest=longest
    )
    if not booked:
        return max(wait, 0.001)
    if wait > 0:
        time.sleep(wait)
    return 0.0
