"""Running broadcasts: each tick hands every due broadcast one slice.

A slice is the next ``rate * ENGAGE_BROADCAST_SECONDS`` members of the
segment after the broadcast's cursor (profile ids in order, read off the
membership index), at most ``MAX_SLICE``. Its messages are created in one
batch (``create_messages``, idempotency key ``broadcast:<id>:<run, or a
daily run's date>:<profile id>``) or its members entered in one call (``entry.enroll``), and the
cursor moves past them in the same transaction, under the broadcast's row
lock: a tick run twice, or two at once, hands nobody the slice twice. The
next slice is due ``size / rate`` seconds later, so a 1,000,000-member
broadcast at 1,000 a second takes about 17 minutes of ticks, each holding
5,000 profile ids, never the audience and never a task per customer. The
messages themselves are then sent at the channel's send rate
(``engage.sendrates``).
"""

import datetime
import math
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from engage.journeys import entry
from engage.journeys.models import Journey
from engage.messaging.models import Message
from engage.messaging.services import MessageInputError, NewMessage, create_messages
from engage.profiles.models import Profile
from engage.segments.models import SegmentMembership

from . import schedules
from .models import Broadcast

# The most members one slice holds, whatever the rate.
MAX_SLICE = 10_000
# The most broadcasts one tick serves; the rest wait for the next.
MAX_PER_TICK = 100
WAITING = (Broadcast.SCHEDULED, Broadcast.RUNNING)


def tick_seconds() -> float:
    return float(getattr(settings, "ENGAGE_BROADCAST_SECONDS", 5.0))


def slice_size(broadcast: Broadcast) -> int:
    return min(MAX_SLICE, max(1, math.ceil(broadcast.rate * tick_seconds())))


def run_due(*, now: datetime.datetime | None = None) -> int:
    """One slice of each broadcast due; how many members they held."""
    now = now or timezone.now()
    due = (
        Broadcast.objects.filter(status__in=WAITING, next_slice_at__lte=now)
        .order_by("next_slice_at")
        .values_list("pk", flat=True)[:MAX_PER_TICK]
    )
    return sum(run_slice(broadcast_id, now=now) for broadcast_id in list(due))


def run_slice(broadcast_id: int, *, now: datetime.datetime) -> int:
    """Hand out the broadcast's next slice if it is due; how many members it held."""
    with transaction.atomic():
        broadcast = (
            Broadcast.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("workspace", "segment", "journey", "template")
            .filter(pk=broadcast_id, status__in=WAITING, next_slice_at__lte=now)
            .first()
        )
        if broadcast is None:
            return 0
        if _stopped(broadcast):
            broadcast.save()
            return 0
        size = slice_size(broadcast)
        member_ids = list(
            SegmentMembership.objects.filter(
                segment=broadcast.segment, exited_at__isnull=True, profile_id__gt=broadcast.cursor
            )
            .order_by("profile_id")
            .values_list("profile_id", flat=True)[: size + 1]
        )
        # One more than the slice, to know whether this slice ends the run.
        last = len(member_ids) <= size
        member_ids = member_ids[:size]
        try:
            _hand_out(broadcast, member_ids, now)
        except MessageInputError as exc:
            broadcast.status, broadcast.error = Broadcast.FAILED, str(exc)
            broadcast.next_slice_at = None
            broadcast.save()
            return 0
        if last:
            _end_run(broadcast)
        else:
            broadcast.status = Broadcast.RUNNING
            broadcast.next_slice_at = now + datetime.timedelta(seconds=size / broadcast.rate)
        broadcast.save()
    return len(member_ids)


def _stopped(broadcast: Broadcast) -> bool:
    """Whether what the broadcast needs went away: its segment, template or
    journey deleted (failed), or its journey no longer live (paused, to be
    resumed once it is)."""
    missing = (
        "segment"
        if broadcast.segment is None
        else "journey"
        if broadcast.action == Broadcast.JOURNEY and broadcast.journey is None
        else "template"
        if broadcast.action == Broadcast.MESSAGE and broadcast.template is None
        else None
    )
    if missing:
        broadcast.status, broadcast.error = Broadcast.FAILED, f"{missing}: deleted"
    elif broadcast.action == Broadcast.JOURNEY and broadcast.journey.status != Journey.LIVE:
        broadcast.status = Broadcast.PAUSED
        broadcast.error = f"journey_id: the journey is {broadcast.journey.status}, not live"
    else:
        return False
    return True


def _hand_out(broadcast: Broadcast, member_ids: list[int], now: datetime.datetime) -> None:
    if not member_ids:
        return
    profiles = list(
        Profile.objects.filter(pk__in=member_ids, merged_into__isnull=True).order_by("pk")
    )
    turns = schedules.turns(broadcast, profiles)
    if broadcast.action == Broadcast.MESSAGE:
        # A daily run's messages are keyed by its local date: one a member a day,
        # even if the broadcast is planned again.
        occasion = broadcast.run_date.isoformat() if broadcast.run_date else broadcast.run
        created = create_messages(
            workspace=broadcast.workspace,
            channel=broadcast.channel,
            category=broadcast.category,
            topic=broadcast.topic,
            template=broadcast.template,
            source=Message.BROADCAST,
            messages=[
                NewMessage(
                    profile=profile,
                    idempotency_key=f"{broadcast.key_prefix}{occasion}:{profile.pk}",
                    send_at=turns[profile.pk],
                )
                for profile in profiles
            ],
        )
        broadcast.entered += sum(1 for item in created if item.created)
    else:
        by_turn = defaultdict(list)
        for profile in profiles:
            by_turn[turns[profile.pk]].append(profile.pk)
        for turn, profile_ids in by_turn.items():
            result = entry.enroll(
                journey=broadcast.journey, profile_ids=profile_ids, now=max(turn or now, now)
            )
            broadcast.entered += len(result.entered)
            broadcast.refused += len(result.refused)
    broadcast.targeted += len(member_ids)
    broadcast.cursor = member_ids[-1]
    broadcast.error = ""


def _end_run(broadcast: Broadcast) -> None:
    """The audience is through: a one-off is completed, a daily one waits for tomorrow."""
    if broadcast.schedule == Broadcast.ONCE:
        broadcast.status = Broadcast.COMPLETED
        broadcast.next_slice_at = None
    else:
        schedules.plan_next_run(broadcast)
        broadcast.status = Broadcast.SCHEDULED
