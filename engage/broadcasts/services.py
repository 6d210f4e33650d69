"""Broadcasts: create, schedule, pause, resume, cancel. Each checks its own
input and names the field at fault (``send_at: must be in the future``);
the running itself is ``runs``.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from engage.audit.services import record, snapshot
from engage.journeys.models import Journey
from engage.messaging.models import Message, MessageTemplate
from engage.messaging.services import cancel_unsent
from engage.segments.models import Segment
from engage.workspaces.models import Workspace

from . import schedules
from .models import Broadcast

MAX_NAME = 200
# More than a provider or a worker pool takes; a typo, most likely.
MAX_RATE = 100_000
CANCEL_DETAIL = "the broadcast was cancelled"
# What a change may set, and what ``create_broadcast`` takes.
FIELDS = (
    "name",
    "segment_id",
    "action",
    "journey_id",
    "template",
    "category",
    "topic",
    "schedule",
    "send_at",
    "local_time",
    "timezone",
    "rate",
)


class BroadcastInvalid(ValueError):
    """Refused input; ``errors`` lists ``field: reason``."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


class BroadcastConflict(Exception):
    """The broadcast's status forbids the change; ``path`` names what is in the way."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def create_broadcast(*, workspace: Workspace, **fields) -> Broadcast:
    """A draft broadcast; nothing runs until ``schedule_broadcast``."""
    broadcast = Broadcast(workspace=workspace, rate=0)
    _apply(broadcast, fields, now=timezone.now())
    with transaction.atomic():
        broadcast.save()
        _audit(broadcast, "created", None)
    return broadcast


def change_broadcast(*, broadcast: Broadcast, **fields) -> Broadcast:
    """Change a draft or scheduled broadcast (one scheduled is planned again)."""
    with transaction.atomic():
        broadcast = _locked(broadcast, (Broadcast.DRAFT, Broadcast.SCHEDULED))
        before = snapshot(broadcast)
        now = timezone.now()
        _apply(broadcast, fields, now=now)
        if broadcast.status == Broadcast.SCHEDULED:
            schedules.plan_first_run(broadcast, now)
        broadcast.save()
        _audit(broadcast, "changed", before)
    return broadcast


def schedule_broadcast(*, broadcast: Broadcast, now: datetime.datetime | None = None) -> Broadcast:
    """Draft to scheduled: its first run is planned, checked again first (the
    journey may have been paused since, the one-off time passed)."""
    now = now or timezone.now()
    with transaction.atomic():
        broadcast = _locked(broadcast, (Broadcast.DRAFT,))
        errors = _errors(broadcast, now)
        if errors:
            raise BroadcastInvalid(errors)
        before = snapshot(broadcast)
        schedules.plan_first_run(broadcast, now)
        broadcast.status = Broadcast.SCHEDULED
        broadcast.save()
        _audit(broadcast, "scheduled", before)
    return broadcast


def pause_broadcast(*, broadcast: Broadcast) -> Broadcast:
    """Stop handing out slices; what is queued already is sent (cancel stops that)."""
    with transaction.atomic():
        broadcast = _locked(broadcast, (Broadcast.SCHEDULED, Broadcast.RUNNING))
        before = snapshot(broadcast)
        broadcast.status = Broadcast.PAUSED
        broadcast.save(update_fields=["status", "updated_at"])
        _audit(broadcast, "paused", before)
    return broadcast


def resume_broadcast(*, broadcast: Broadcast, now: datetime.datetime | None = None) -> Broadcast:
    """Carry on from where the pause left the audience: the next slice goes
    at the next tick, or at the run's time if that is still to come."""
    now = now or timezone.now()
    with transaction.atomic():
        broadcast = _locked(broadcast, (Broadcast.PAUSED,))
        before = snapshot(broadcast)
        started = broadcast.cursor > 0
        broadcast.status = Broadcast.RUNNING if started else Broadcast.SCHEDULED
        if started:
            broadcast.next_slice_at = now
        broadcast.save(update_fields=["status", "next_slice_at", "updated_at"])
        _audit(broadcast, "resumed", before)
    return broadcast


def cancel_broadcast(*, broadcast: Broadcast, now: datetime.datetime | None = None) -> Broadcast:
    """Stop for good, and cancel its messages not yet handed to a provider
    (queued, deferred, or claimed in a worker's chunk but not reached: the
    worker re-reads them before each provider call). A message being handed
    over goes out. Cancelling a cancelled broadcast changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        broadcast = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        if broadcast.status == Broadcast.CANCELLED:
            return broadcast
        if broadcast.status in Broadcast.FINAL:
            raise BroadcastConflict("status", f"the broadcast is {broadcast.status}")
        before = snapshot(broadcast)
        broadcast.status = Broadcast.CANCELLED
        broadcast.next_slice_at = None
        broadcast.save(update_fields=["status", "next_slice_at", "updated_at"])
        _audit(broadcast, "cancelled", before)
        _cancel_messages(broadcast, now)
    return broadcast


def delete_broadcast(*, broadcast: Broadcast) -> None:
    """A draft, or one that is over; one that may still run must be cancelled first."""
    with transaction.atomic():
        broadcast = _locked(broadcast, (Broadcast.DRAFT, *Broadcast.FINAL))
        record(
            workspace_id=broadcast.workspace_id,
            action="deleted",
            obj=broadcast,
            before=snapshot(broadcast),
        )
        broadcast.delete()


def _audit(broadcast: Broadcast, action: str, before: dict | None) -> None:
    record(
        workspace_id=broadcast.workspace_id,
        action=action,
        obj=broadcast,
        before=before,
        after=snapshot(broadcast),
    )


def _locked(broadcast: Broadcast, allowed: tuple[str, ...]) -> Broadcast:
    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
    if broadcast.status not in allowed:
        raise BroadcastConflict(
            "status", f"the broadcast is {broadcast.status}, not {' or '.join(allowed)}"
        )
    return broadcast


def _apply(broadcast: Broadcast, fields: dict, *, now: datetime.datetime) -> None:
    """Set ``fields`` on ``broadcast`` after checking each, and the whole."""
    errors = []
    unknown = set(fields) - set(FIELDS)
    errors += [f"{name}: unknown field" for name in sorted(unknown)]
    workspace = broadcast.workspace
    for name, value in fields.items():
        if name == "segment_id":
            segment = Segment.objects.filter(workspace=workspace, pk=value).first()
            if segment is None:
                errors.append(f"segment_id: no segment {value} in this workspace")
            broadcast.segment = segment
        elif name == "journey_id":
            journey = (
                Journey.objects.filter(workspace=workspace, pk=value).first()
                if value is not None
                else None
            )
            if value is not None and journey is None:
                errors.append(f"journey_id: no journey {value} in this workspace")
            broadcast.journey = journey
        elif name == "template":
            template = (
                MessageTemplate.objects.filter(workspace=workspace, name=value).first()
                if value
                else None
            )
            if value and template is None:
                errors.append(f"template: no template named {value!r} in this workspace")
            broadcast.template = template
            broadcast.channel = template.channel if template else ""
        elif name == "local_time":
            try:
                broadcast.local_time = parse_local_time(value) if value is not None else None
            except ValueError as exc:
                errors.append(f"local_time: {exc}")
        elif name in FIELDS:
            setattr(broadcast, name, value)
    if not errors:
        errors = _errors(broadcast, now)
    if errors:
        raise BroadcastInvalid(errors)


def parse_local_time(value) -> datetime.time:
    """``"HH:MM"`` (24-hour clock) as a time; ValueError saying what is wrong."""
    if isinstance(value, str) and len(value) == 5 and value[2] == ":":
        hours, minutes = value[:2], value[3:]
        if hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60:
            return datetime.time(int(hours), int(minutes))
    raise ValueError(f"must be HH:MM on a 24-hour clock, not {value!r}")


def _errors(broadcast: Broadcast, now: datetime.datetime) -> list[str]:
    """What keeps ``broadcast`` from running as it stands, ``field: reason`` each."""
    errors = []
    if not isinstance(broadcast.name, str) or not broadcast.name.strip():
        errors.append(f"name: must be 1 to {MAX_NAME} characters")
    if broadcast.segment is None:
        errors.append("segment_id: required")
    if not isinstance(broadcast.rate, int) or not 0 < broadcast.rate <= MAX_RATE:
        errors.append(f"rate: must be a whole number of members per second, 1 to {MAX_RATE}")
    if broadcast.action == Broadcast.JOURNEY:
        if broadcast.journey is None:
            errors.append("journey_id: required to enter a journey")
        elif broadcast.journey.status != Journey.LIVE:
            errors.append(f"journey_id: the journey is {broadcast.journey.status}, not live")
    elif broadcast.action == Broadcast.MESSAGE:
        if broadcast.template is None:
            errors.append("template: required to send a message")
        if not broadcast.category:
            broadcast.category = Message.MARKETING
    else:
        errors.append(f"action: must be {Broadcast.MESSAGE} or {Broadcast.JOURNEY}")
    if broadcast.schedule == Broadcast.ONCE:
        if broadcast.send_at is None:
            errors.append("send_at: required for a one-off broadcast")
        elif broadcast.send_at <= now:
            errors.append("send_at: must be in the future")
    elif broadcast.schedule == Broadcast.DAILY:
        if broadcast.local_time is None:
            errors.append("local_time: required for a daily broadcast (HH:MM)")
    else:
        errors.append(f"schedule: must be {Broadcast.ONCE} or {Broadcast.DAILY}")
    return errors


def _cancel_messages(broadcast: Broadcast, now: datetime.datetime) -> None:
    """The broadcast's unsent messages, found by their idempotency keys (which
    the broadcast names)."""
    cancel_unsent(
        Message.objects.filter(
            workspace_id=broadcast.workspace_id,
            source=Message.BROADCAST,
            idempotency_key__startswith=broadcast.key_prefix,
        ),
        detail=CANCEL_DETAIL,
        now=now,
    )
