"""Sending messages: what a worker runs for due messages, a chunk at a time.

A worker claims up to ``ENGAGE_SEND_CHUNK_SIZE`` due messages in one
transaction: their customers are locked first, in id order (the order merges
take them in, so neither waits on the other), then the messages with ``FOR
UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one writer). Each passes the
policy, whose caps count the chunk's other messages to the same customer,
and the chunk is committed ``sending`` at once. The messages then go to the
provider one by one over one connection (``Channel.session``), and their
results, ledger decisions and timeline events are committed together.

At most once: a claimed message waits its turn with both ``sending_at`` and
``next_attempt_at`` the time of the claim. Just before its provider call one
conditional UPDATE, committed on its own, clears ``next_attempt_at`` and
sets ``sending_at`` to now, only if the message is still waiting, so one
cancelled (or recovered) meanwhile is not sent. ``recover_stuck`` can then
tell a message whose worker died before the call (queued again) from one the
provider may have (``unknown``, held for review, or queued again for a
channel whose provider deduplicates resends). ``due_message_ids`` lists the
retries and deferrals that have come due, for the sweep to hand to workers.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from engage.bulk import update_rows
from engage.events.recording import EventToRecord, record_events
from engage.plugins.base import (
    Channel,
    PermanentSendError,
    SendOutcomeUnknown,
    TransientSendError,
)
from engage.plugins.manager import UnknownPlugin, get_channel_class
from engage.plugins.selectors import enabled_channel
from engage.profiles.models import Profile
from engage.sendrates import buckets as sendrates

from . import consent, pauses, policy, timeline
from .models import Message, MessageDecision, MessagingPolicy

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


def decision(
    message: Message, action: str, reason: str, detail: str = "", until=None
) -> MessageDecision:
    """The ledger entry of what became of ``message`` and why (unsaved). What
    sent it is copied onto the row, so the ledger reads the same way for
    decisions with a message and those without one."""
    return MessageDecision(
        workspace_id=message.workspace_id,
        profile_id=message.profile_id,
        origin_profile_id=message.profile_id,
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


def decide(message: Message, action: str, reason: str, detail: str = "", until=None) -> None:
    """Write to the customer's ledger what became of ``message`` and why."""
    decision(message, action, reason, detail, until).save()


def _finish(message: Message, status: str, **fields) -> None:
    for name, value in fields.items():
        setattr(message, name, value)
    message.status = status
    message.save(update_fields=["status", *fields, "updated_at"])


@dataclass
class _Claim:
    message: Message
    channel: Channel
    attempted: bool = False


# What a claim may change on a message; written for the whole chunk at once.
CLAIM_FIELDS = ["status", "error", "address", "sending_at", "next_attempt_at", "updated_at"]
RESULT_FIELDS = [
    "status",
    "error",
    "provider_message_id",
    "sent_at",
    "failed_at",
    "next_attempt_at",
    "updated_at",
]


def waiting_in_chunk(message: Message) -> bool:
    """Claimed by a worker but not handed to the provider yet: it can still be stopped."""
    return (
        message.status == Message.SENDING
        and message.sending_at is not None
        and message.next_attempt_at == message.sending_at
    )


WAITING_IN_CHUNK = Q(status=Message.SENDING, next_attempt_at=F("sending_at"))


def _due(now: datetime) -> Q:
    return Q(status__in=Message.READY) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _claim(
    message_ids: list[int] | None, *, workspace_id: int | None, now: datetime, limit: int
) -> tuple[list[_Claim], int]:
    """Claim up to ``limit`` due messages: (those committed ``sending``, how
    many messages the claim settled, skips and deferrals included).

    A message whose customer a merge moved between the look-up and the lock
    is left for the next claim, which finds it with its new customer.
    """
    due = _due(now)
    candidates = Message.objects.filter(due)
    if message_ids is not None:
        candidates = candidates.filter(pk__in=message_ids)
    if workspace_id is not None:
        candidates = candidates.filter(workspace_id=workspace_id)
    rows = list(
        candidates.order_by("next_attempt_at", "pk").values_list("pk", "profile_id")[:limit]
    )
    if not rows:
        return [], 0
    claims: list[_Claim] = []
    changed: list[Message] = []
    decisions: list[MessageDecision] = []
    with transaction.atomic():
        profiles = {
            profile.pk: profile
            for profile in Profile.objects.select_for_update()
            .filter(pk__in={profile_id for _, profile_id in rows})
            .order_by("pk")
        }
        messages = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("workspace")
            .filter(due, pk__in=[pk for pk, _ in rows])
            .order_by("next_attempt_at", "pk")
        )
        channels: dict[tuple[int, str], Channel | None] = {}
        rules: dict[int, MessagingPolicy] = {}
        consents = consent.histories(list(profiles))
        paused = pauses.in_force(list(profiles), now)
        for message in messages:
            profile = profiles.get(message.profile_id)
            if profile is None:
                continue
            key = (message.workspace_id, message.channel)
            if key not in channels:
                channels[key] = enabled_channel(
                    workspace=message.workspace, channel_id=message.channel
                )
            if message.workspace_id not in rules:
                rules[message.workspace_id] = policy.workspace_policy(message.workspace_id)
            verdict = _verdict(
                message,
                profile,
                channels[key],
                rules[message.workspace_id],
                claims,
                consents.get(profile.pk, []),
                paused,
                now,
            )
            message.updated_at = timezone.now()
            changed.append(message)
            if verdict is None:
                claims.append(_Claim(message, channels[key]))
            else:
                decisions.append(verdict)
        update_rows(Message, changed, CLAIM_FIELDS)
        MessageDecision.objects.bulk_create(decisions)
    return claims, len(changed)


def _verdict(
    message, profile, channel, rules, claims, consents, paused, now
) -> MessageDecision | None:
    """Settle one message of the claim in memory: claimed (None) or skipped
    or deferred (the decision saying why)."""
    if channel is None:
        detail = f"{message.channel} is not enabled (or its settings are invalid)"
        message.status, message.error = Message.SKIPPED, detail
        return decision(message, MessageDecision.SKIP, "channel_disabled", detail)
    claimed = [c.message for c in claims if c.message.profile_id == message.profile_id]
    verdict = policy.check(
        message=message,
        profile=profile,
        now=now,
        channel=type(channel),
        policy=rules,
        claimed=claimed,
        consents=consents,
        paused=paused,
    )
    if verdict.action == policy.SKIP:
        message.status, message.error = Message.SKIPPED, verdict.detail
        return decision(
            message, MessageDecision.SKIP, verdict.reason, verdict.detail, verdict.until
        )
    if verdict.action == policy.DEFER:
        message.status, message.next_attempt_at = Message.DEFERRED, verdict.until
        return decision(
            message, MessageDecision.DEFER, verdict.reason, verdict.detail, verdict.until
        )
    address = channel.address_for(profile)
    if not address:
        detail = f"no {channel.address_kind or channel.address_trait or 'address'} known"
        message.status, message.error = Message.SKIPPED, detail
        return decision(message, MessageDecision.SKIP, "no_address", detail)
    message.status = Message.SENDING
    message.address = address[:320]
    message.sending_at = now
    message.next_attempt_at = now
    return None


def _attempt(message: Message) -> bool:
    """Commit that ``message`` is being handed to the provider now, if it is
    still claimed (not cancelled or recovered since); False: leave it alone."""
    at = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        # WAITING_IN_CHUNK, in plain SQL: it runs once per message sent.
        cursor.execute(
            f"UPDATE {Message._meta.db_table} SET sending_at = %s, next_attempt_at = NULL,"  # noqa: S608 - constant table; values are params
            " attempts = attempts + 1, updated_at = %s"
            " WHERE id = %s AND status = %s AND next_attempt_at = sending_at",
            [stamp, stamp, message.pk, Message.SENDING],
        )
        taken = cursor.rowcount
    if taken:
        message.sending_at = at
        message.next_attempt_at = None
        message.attempts += 1
    return bool(taken)


@dataclass
class _Result:
    message: Message
    decision: MessageDecision | None = None
    event: EventToRecord | None = None


def _call(claim: _Claim) -> _Result:
    """Hand one message to the provider; its new state in memory."""
    message, channel = claim.message, claim.channel
    message.updated_at = timezone.now()
    try:
        sent = channel.send(message=message, address=message.address)
    except TransientSendError as exc:
        if message.attempts >= max_attempts():
            message.status, message.error, message.failed_at = (
                Message.FAILED,
                str(exc),
                timezone.now(),
            )
            return _Result(message)
        wait = backoff(message.attempts)
        if exc.retry_after:
            wait = max(wait, timedelta(seconds=exc.retry_after))
        until = timezone.now() + wait
        message.status, message.error, message.next_attempt_at = Message.QUEUED, str(exc), until
        return _Result(
            message, decision(message, MessageDecision.RETRY, "transient_error", str(exc), until)
        )
    except PermanentSendError as exc:
        message.status, message.error, message.failed_at = Message.FAILED, str(exc), timezone.now()
        return _Result(message)
    except SendOutcomeUnknown as exc:
        message.status, message.error = Message.UNKNOWN, str(exc)
        return _Result(
            message, decision(message, MessageDecision.HOLD, "outcome_unknown", str(exc))
        )
    except Exception as exc:
        # A bug or an unexpected error after the provider call began: the
        # message may have gone out, so it is held, not retried.
        logger.exception("channel %s failed on message %s", message.channel, message.pk)
        message.status, message.error = Message.UNKNOWN, f"{type(exc).__name__}: {exc}"
        return _Result(message, decision(message, MessageDecision.HOLD, "channel_error", str(exc)))
    message.status = Message.SENT
    message.provider_message_id = sent.provider_message_id[:255]
    message.sent_at = timezone.now()
    message.error = ""
    event = EventToRecord(
        workspace_id=message.workspace_id,
        profile_id=message.profile_id,
        name=timeline.event_name(channel.event_label(), "sent"),
        message_id=f"engage:message:{message.pk}:sent",
        timestamp=message.sent_at,
        # What the channel says about the send (e.g. RCS that went out as
        # SMS) stays with it on the timeline.
        properties={**sent.detail, "channel": message.channel, "message_id": message.pk},
        channel=message.channel,
    )
    return _Result(message, decision(message, MessageDecision.SEND, "sent"), event)


def _deliver(claims: list[_Claim]) -> dict[int, str]:
    """Send the claimed messages, each channel's over one session, and commit
    their results together; {message id: new status} of those attempted."""
    results: list[_Result] = []

    def route(claim):
        return claim.message.workspace_id, claim.message.channel

    try:
        for _, group in groupby(sorted(claims, key=route), key=route):
            group = list(group)
            try:
                with group[0].channel.session():
                    for index, claim in enumerate(group):
                        wait = sendrates.wait_for_turn(claim.channel, patience=_patience(claim))
                        if wait:
                            # Over the channel's send rate: the rest waits its turn queued.
                            _release(group[index:], until=timezone.now() + timedelta(seconds=wait))
                            break
                        # Not attempted: cancelled or recovered since the claim.
                        claim.attempted = _attempt(claim.message)
                        if claim.attempted:
                            results.append(_call(claim))
            except Exception:
                logger.exception("channel %s: the session failed", group[0].channel.id)
    finally:
        _record(results)
        _release([claim for claim in claims if not claim.attempted])
    return {result.message.pk: result.message.status for result in results}


def _record(results: list[_Result]) -> None:
    if not results:
        return
    with transaction.atomic():
        update_rows(Message, [r.message for r in results], RESULT_FIELDS)
        MessageDecision.objects.bulk_create([r.decision for r in results if r.decision])
        record_events([r.event for r in results if r.event])


def _patience(claim: _Claim) -> float:
    """How long the chunk may still wait for a send rate: half the sending
    timeout from its claim, so ``recover_stuck`` never takes it for dead."""
    age = timezone.now() - claim.message.sending_at
    return (sending_timeout() / 2 - age).total_seconds()


def _release(claims: list[_Claim], until: datetime | None = None) -> None:
    """Give back to the queue the claimed messages never handed to the
    provider (a session that failed: they wait a backoff; over a send rate:
    until ``until``), not counted as an attempt. One cancelled or recovered
    since the claim is left as it is."""
    if not claims:
        return
    until = until or timezone.now() + backoff(1)
    Message.objects.filter(WAITING_IN_CHUNK, pk__in=[c.message.pk for c in claims]).update(
        status=Message.QUEUED, next_attempt_at=until, updated_at=timezone.now()
    )


def send_chunk(
    message_ids: list[int] | None = None,
    *,
    workspace_id: int | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> dict[int, str]:
    """Claim a chunk of due messages (among ``message_ids``, of ``workspace_id``,
    when given) and send it; {message id: new status} of those handed to the
    provider (skips and deferrals are in the ledger)."""
    now = now or timezone.now()
    claims, _ = _claim(message_ids, workspace_id=workspace_id, now=now, limit=limit or chunk_size())
    return _deliver(claims)


def send_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Send every due message, a chunk at a time, until none is left; how
    many were handed to the provider."""
    attempted = 0
    while True:
        claims, settled = _claim(
            None, workspace_id=None, now=now or timezone.now(), limit=limit or chunk_size()
        )
        if not settled:
            return attempted
        attempted += len(_deliver(claims))


def send_message(message_id: int, *, now: datetime | None = None) -> str | None:
    """Send one message if it is due; returns its new status (None: not sent now)."""
    return send_chunk([message_id], now=now).get(message_id)


def recover_stuck(*, now: datetime | None = None) -> int:
    """Messages left ``sending`` longer than the timeout: their worker died.

    One claimed but never handed to the provider goes back to the queue. One
    that was may or may not be with the provider, so it is not resent
    blindly: it becomes ``unknown`` and is held for review, unless the channel
    declares its provider deduplicates resends, in which case it is queued again.
    """
    now = now or timezone.now()
    since = now - sending_timeout()
    count = 0
    with transaction.atomic():
        stuck = Message.objects.select_for_update(skip_locked=True).filter(
            status=Message.SENDING, sending_at__lt=since
        )
        for message in stuck:
            if waiting_in_chunk(message):
                _finish(message, Message.QUEUED, next_attempt_at=now)
                decide(
                    message,
                    MessageDecision.RETRY,
                    "worker_lost",
                    "the worker died before handing it to the provider",
                )
                count += 1
                continue
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
