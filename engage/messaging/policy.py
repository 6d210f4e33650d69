"""The policy check every send passes, at send time.

It runs when a worker is about to send, not when the message is queued, so an
unsubscribe that arrives in between still counts. In order:

1. consent: an opt-out of the message's topic (or of marketing, for a
   marketing message) on its channel or on every channel skips it; a channel
   that needs opt-in skips marketing without an explicit opt-in;
2. a marketing pause skips marketing to the customer until it ends, with
   its reason (``detractor_pause``, ``support_case``), detail and end;
   transactional and service messages are never paused;
3. quiet hours in the customer's timezone defer marketing to the end of the
   window (never drop it);
4. frequency caps per channel and the contact-pressure budget across channels
   (per day and per week), counting the messages already claimed with it in
   the worker's chunk. A message that would take a slot a higher-ranked
   message is waiting for is deferred briefly, so the higher rank (category,
   then campaign priority, then age) wins the last slot instead of whichever
   worker came first; a message with no slot left is skipped;
5. ``engage_check_send`` plugins: any skip wins, else the latest deferral.

The caller writes every skip and deferral to the decision log.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Count, Q

from engage.plugins.base import ALLOW, DEFER, SKIP, Channel, Decision
from engage.plugins.manager import get_plugin_manager

from . import consent, pauses
from .models import Consent, Message, MessagingPolicy

# How long an outranked message waits before it checks again.
OUTRANKED_RECHECK = timedelta(minutes=1)
WINDOWS = {"day": timedelta(days=1), "week": timedelta(days=7)}
# Messages that used a slot: anything handed to (or possibly to) the provider.
SLOT_STATUSES = [Message.SENDING, *Message.SIGNAL_RANK]

ALLOWED = Decision(ALLOW)


def workspace_policy(workspace_id: int) -> MessagingPolicy:
    """The workspace's rules, or the defaults (no caps, no quiet hours)."""
    policy = MessagingPolicy.objects.filter(workspace_id=workspace_id).first()
    return policy or MessagingPolicy(workspace_id=workspace_id)


def check(
    *,
    message: Message,
    profile,
    now: datetime,
    channel: type[Channel] | None = None,
    policy: MessagingPolicy | None = None,
    claimed: Sequence[Message] = (),
    consents: list | None = None,
    paused: dict | None = None,
) -> Decision:
    """``claimed``: the customer's other messages claimed in the same chunk,
    not yet written as ``sending``; each takes a slot. ``consents``: the
    customer's consent history (``consent.histories``), when a chunk read it
    for all its customers at once; ``paused`` likewise, the chunk's
    customers' marketing pauses (``pauses.in_force``)."""
    policy = policy or workspace_policy(message.workspace_id)
    for rule in (_consent, _pause, _quiet_hours, _caps):
        verdict = rule(
            message=message,
            profile=profile,
            now=now,
            channel=channel,
            policy=policy,
            claimed=claimed,
            consents=consents,
            paused=paused,
        )
        if verdict is not None:
            return verdict
    return _plugins(message=message, profile=profile, now=now, claimed=claimed)


def _consent(*, message, profile, channel, consents, **_):
    topics = [message.consent_topic]
    if message.category == Message.MARKETING and Consent.MARKETING not in topics:
        topics.append(Consent.MARKETING)
    if consents is None:
        status = consent.current_statuses(profile=profile, channel=message.channel, topics=topics)
    else:
        status = consent.latest(consents, channel=message.channel, topics=topics)
    for topic in topics:
        if status.get(topic) == Consent.OPTED_OUT:
            return Decision(
                SKIP, "opted_out", f"the customer opted out of {topic} on {message.channel}"
            )
    if (
        message.category == Message.MARKETING
        and channel is not None
        and channel.capabilities.needs_opt_in
        and status.get(message.consent_topic) != Consent.OPTED_IN
    ):
        return Decision(SKIP, "no_opt_in", f"{message.channel} needs the customer's opt-in")
    return None


def _pause(*, message, profile, now, paused, **_):
    if message.category != Message.MARKETING:
        return None
    if paused is None:
        paused = pauses.in_force([profile.pk], now)
    pause = paused.get(profile.pk)
    if pause is None:
        return None
    detail = f"marketing paused until {pause.until.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return Decision(
        SKIP, pause.reason, f"{detail}: {pause.detail}" if pause.detail else detail, pause.until
    )


def customer_timezone(profile, policy: MessagingPolicy) -> ZoneInfo:
    for name in ((profile.traits or {}).get("timezone"), profile.timezone, policy.default_timezone):
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_until(now: datetime, start: time, end: time, tz: ZoneInfo) -> datetime | None:
    """The end of the quiet window ``now`` falls in (in UTC), or None outside it.

    The window may cross midnight (21:00 to 08:00).
    """
    local = now.astimezone(tz)
    t = local.time()
    if start <= end:
        inside = start <= t < end
        end_day = local.date()
    else:
        inside = t >= start or t < end
        end_day = local.date() + timedelta(days=1) if t >= start else local.date()
    if not inside:
        return None
    until = datetime.combine(end_day, end, tzinfo=tz)
    return until.astimezone(now.tzinfo)


def _quiet_hours(*, message, profile, now, policy, **_):
    if message.category != Message.MARKETING or not (policy.quiet_start and policy.quiet_end):
        return None
    tz = customer_timezone(profile, policy)
    until = quiet_until(now, policy.quiet_start, policy.quiet_end, tz)
    if until is None:
        return None
    return Decision(
        DEFER,
        "quiet_hours",
        f"quiet hours {policy.quiet_start:%H:%M}-{policy.quiet_end:%H:%M} in {tz.key}",
        until,
    )


def _limits(message: Message, policy: MessagingPolicy):
    """(reason, scope, window, cap) for every cap that applies; scope "channel" or "all"."""
    caps = (policy.channel_caps or {}).get(message.channel) or {}
    for window in WINDOWS:
        if isinstance(caps.get(window), int):
            yield "frequency_cap", "channel", window, caps[window]
    for window, cap in (("day", policy.total_per_day), ("week", policy.total_per_week)):
        if cap is not None:
            yield "contact_budget", "all", window, cap


def _caps(*, message, profile, now, policy, claimed, **_):
    """One query counts, per scope and window, the slots used and the
    higher-ranked messages waiting, for every cap that applies; the chunk's
    claimed messages are counted from memory."""
    if message.category == Message.TRANSACTIONAL and not policy.cap_transactional:
        return None
    limits = list(_limits(message, policy))
    if not limits:
        return None
    scopes = {"channel": Q(channel=message.channel), "all": Q()}
    used = {
        window: Q(status__in=SLOT_STATUSES, sending_at__gte=now - span)
        for window, span in WINDOWS.items()
    }
    waiting = (
        Q(status__in=Message.READY)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (
            Q(category__in=[c for c, r in Message.CATEGORY_RANK.items() if r > _rank(message)])
            | Q(category=message.category, priority__gt=message.priority)
            | Q(category=message.category, priority=message.priority, pk__lt=message.pk)
        )
    )
    taking = [
        other
        for other in claimed
        if policy.cap_transactional or other.category != Message.TRANSACTIONAL
    ]
    mine = Message.objects.filter(profile_id=message.profile_id).exclude(
        pk__in=[message.pk, *(other.pk for other in claimed)]
    )
    if not policy.cap_transactional:
        mine = mine.exclude(category=Message.TRANSACTIONAL)
    counts = mine.filter(used["week"] | waiting).aggregate(
        **{
            f"used_{scope}_{window}": Count("pk", filter=scopes[scope] & used[window])
            for _, scope, window, _ in limits
        },
        **{f"waiting_{scope}": Count("pk", filter=scopes[scope] & waiting) for scope in scopes},
    )
    in_chunk = {
        "channel": sum(other.channel == message.channel for other in taking),
        "all": len(taking),
    }
    for reason, scope, window, cap in limits:
        taken = counts[f"used_{scope}_{window}"] + in_chunk[scope]
        left = cap - taken
        label = "per channel" if scope == "channel" else "across channels"
        if left <= 0:
            return Decision(
                SKIP, reason, f"{taken} of {cap} messages per {window} {label} already sent"
            )
        ahead = counts[f"waiting_{scope}"]
        if ahead >= left:
            return Decision(
                DEFER,
                "outranked",
                f"{left} slot(s) per {window} {label} left and {ahead} higher-ranked "
                "message(s) waiting",
                now + OUTRANKED_RECHECK,
            )
    return None


def _rank(message: Message) -> int:
    return Message.CATEGORY_RANK[message.category]


def _plugins(*, message, profile, now, claimed):
    verdicts = [
        verdict
        for verdict in get_plugin_manager().hook.engage_check_send(
            message=message, profile=profile, now=now, claimed=list(claimed)
        )
        if verdict is not None and verdict.action != ALLOW
    ]
    for verdict in verdicts:
        if verdict.action == SKIP:
            return verdict
    if verdicts:
        return max(verdicts, key=lambda verdict: verdict.until)
    return ALLOWED
