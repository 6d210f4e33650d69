"""Sending messages: what a worker runs for each queued message.

``send_message`` claims the message, asks the policy, commits ``sending``
*before* calling the provider, then records ``sent``, a retry with backoff,
``failed``, or ``unknown``. ``recover_stuck`` turns messages whose worker died
mid-send into ``unknown`` (or back to ``queued`` for a channel whose provider
deduplicates resends), and ``due_message_ids`` lists the retries and
deferrals that have come due, for the sweep to hand to workers.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from engage.plugins.base import (
    Channel,
    PermanentSendError,
    SendOutcomeUnknown,
    TransientSendError,
)
from engage.plugins.manager import UnknownPlugin, get_channel_class
from engage.plugins.selectors import enabled_channel
from engage.profiles.models import Profile

from . import policy, timeline
from .models import Message, MessageDecision

logger = logging.getLogger(__name__)


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return _setting("ENGAGE_SEND_MAX_ATTEMPTS", 5)


def backoff(attempt: int) -> timedelta:
    """Wait before attempt ``attempt + 1``: 30 s, 1 min, 2 min... at most an hour."""
    base = _setting("ENGAGE_SEND_BACKOFF_SECONDS", 30.0)
    return timedelta(seconds=min(base * 2 ** max(attempt - 1, 0), 3600))


def chunk_size() -> int:
    """How many due messages a worker claims and sends in one go."""
    return max(1, _setting("ENGAGE_SEND_CHUNK_SIZE", 50))


def sending_timeout() -> timedelta:
    """How long a message may stay ``sending`` before its worker counts as dead."""
    return timedelta(seconds=_setting("ENGAGE_SENDING_TIMEOUT_SECONDS", 300))


def decide(message: Message, action: str, reason: str, detail: str = "", until=None) -> None:
    """Write to the customer's ledger what became of ``message`` and why. What
    sent it is copied onto the row, so the ledger reads the same way for
    decisions with a message and those without one."""
    MessageDecision.objects.create(
        workspace_id=message.workspace_id,
        profile_id=message.profile_id,
        message=message,
        channel=message.channel,
        action=action,
        reason=reason,
        detail=detail,
        until=until,
        source=message.source if message.source != Message.API else MessageDecision.MESSAGE,
        journey_id=message.journey_id,
        journey_version=message.journey_version,
        journey_node_id=message.journey_node_id,
        enrollment_id=message.enrollment_id,
    )


def _finish(message: Message, status: str, **fields) -> None:
    for name, value in fields.items():
        setattr(message, name, value)
    message.status = status
    message.save(update_fields=["status", *fields, "updated_at"])


def _claim(message_id: int, now: datetime) -> tuple[Message, Channel, Profile] | None:
    """Lock a due message, pass it through policy, and commit it as ``sending``.

    Returns None when there is nothing to send now (claimed elsewhere, not due,
    skipped or deferred). The profile is locked before the message, the order
    a merge takes them in, so both cannot wait on each other; it also makes
    two sends to one customer take their cap slots one after the other.
    """
    profile_id = Message.objects.filter(pk=message_id).values_list("profile_id", flat=True).first()
    if profile_id is None:
        return None
    with transaction.atomic():
        profile = Profile.objects.select_for_update().filter(pk=profile_id).first()
        message = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("workspace")
            .filter(pk=message_id, status__in=Message.READY)
            .first()
        )
        if message is None or profile is None:
            return None
        if message.next_attempt_at and message.next_attempt_at > now:
            return None
        channel = enabled_channel(workspace=message.workspace, channel_id=message.channel)
        if channel is None:
            detail = f"{message.channel} is not enabled (or its settings are invalid)"
            _finish(message, Message.SKIPPED, error=detail)
            decide(message, MessageDecision.SKIP, "channel_disabled", detail)
            return None
        verdict = policy.check(message=message, profile=profile, now=now, channel=type(channel))
        if verdict.action == policy.SKIP:
            _finish(message, Message.SKIPPED, error=verdict.detail)
            decide(message, MessageDecision.SKIP, verdict.reason, verdict.detail)
            return None
        if verdict.action == policy.DEFER:
            _finish(message, Message.DEFERRED, next_attempt_at=verdict.until)
            decide(message, MessageDecision.DEFER, verdict.reason, verdict.detail, verdict.until)
            return None
        address = channel.address_for(profile)
        if not address:
            detail = f"no {channel.address_kind or channel.address_trait or 'address'} known"
            _finish(message, Message.SKIPPED, error=detail)
            decide(message, MessageDecision.SKIP, "no_address", detail)
            return None
        _finish(
            message,
            Message.SENDING,
            address=address[:320],
            attempts=message.attempts + 1,
            sending_at=now,
            next_attempt_at=None,
        )
    return message, channel, profile


def send_message(message_id: int, *, now: datetime | None = None) -> str | None:
    """Send one message if it is due; returns its new status (None: not sent now)."""
    now = now or timezone.now()
    claimed = _claim(message_id, now)
    if claimed is None:
        return None
    message, channel, profile = claimed
    try:
        result = channel.send(message=message, address=message.address)
    except TransientSendError as exc:
        if message.attempts >= max_attempts():
            _finish(message, Message.FAILED, error=str(exc), failed_at=timezone.now())
            return message.status
        wait = backoff(message.attempts)
        if exc.retry_after:
            wait = max(wait, timedelta(seconds=exc.retry_after))
        until = timezone.now() + wait
        _finish(message, Message.QUEUED, error=str(exc), next_attempt_at=until)
        decide(message, MessageDecision.RETRY, "transient_error", str(exc), until)
        return message.status
    except PermanentSendError as exc:
        _finish(message, Message.FAILED, error=str(exc), failed_at=timezone.now())
        return message.status
    except SendOutcomeUnknown as exc:
        _finish(message, Message.UNKNOWN, error=str(exc))
        decide(message, MessageDecision.HOLD, "outcome_unknown", str(exc))
        return message.status
    except Exception as exc:
        # A bug or an unexpected error after the provider call began: the
        # message may have gone out, so it is held, not retried.
        logger.exception("channel %s failed on message %s", message.channel, message.pk)
        _finish(message, Message.UNKNOWN, error=f"{type(exc).__name__}: {exc}")
        decide(message, MessageDecision.HOLD, "channel_error", str(exc))
        return message.status
    sent_at = timezone.now()
    with transaction.atomic():
        _finish(
            message,
            Message.SENT,
            provider_message_id=result.provider_message_id[:255],
            sent_at=sent_at,
            error="",
        )
        decide(message, MessageDecision.SEND, "sent")
        timeline.record_event(
            profile=profile,
            name=timeline.event_name(channel.event_label(), "sent"),
            key=f"engage:message:{message.pk}:sent",
            # What the channel says about the send (e.g. RCS that went out as
            # SMS) stays with it on the timeline.
            properties={**result.detail, "channel": message.channel, "message_id": message.pk},
            at=sent_at,
            channel=message.channel,
        )
    return message.status


def recover_stuck(*, now: datetime | None = None) -> int:
    """Messages left ``sending`` longer than the timeout: their worker died.

    The provider may or may not have the message, so it is not resent blindly:
    it becomes ``unknown`` and is held for review, unless the channel declares
    its provider deduplicates resends, in which case it goes back to the queue.
    """
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        stuck = Message.objects.select_for_update(skip_locked=True).filter(
            status=Message.SENDING, sending_at__lt=now - sending_timeout()
        )
        for message in stuck:
            try:
                idempotent = get_channel_class(message.channel).idempotent
            except UnknownPlugin:
                idempotent = False
            if idempotent:
                _finish(message, Message.QUEUED, next_attempt_at=now)
                decide(message, MessageDecision.RETRY, "worker_lost", "idempotent channel")
            else:
                _finish(message, Message.UNKNOWN, error="the worker died while sending")
                decide(
                    message,
                    MessageDecision.HOLD,
                    "worker_lost",
                    "the worker died mid-send; not resent in case the provider has it",
                )
            count += 1
    return count


def due_message_ids(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    now = now or timezone.now()
    return list(
        Message.objects.filter(status__in=Message.READY, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
