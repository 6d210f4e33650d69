"""A broadcast hands its audience out a slice per tick at its rate, each
member once, and can be paused, resumed and cancelled midway."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from engage.broadcasts import runs, services
from engage.broadcasts.models import Broadcast
from engage.broadcasts.selectors import message_counts
from engage.journeys import entry
from engage.journeys.models import Enrollment
from engage.messaging import sending
from engage.messaging.models import Message, MessagingPolicy
from tests.journeys.factories import live_journey

from .factories import audience, inapp_template

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)


def broadcast_messages(broadcast) -> list[Message]:
    return list(
        Message.objects.filter(idempotency_key__startswith=broadcast.key_prefix).order_by(
            "profile_id"
        )
    )


def one_off(workspace, segment, *, rate=100, at=T0 + dt.timedelta(hours=1), **fields):
    inapp_template(workspace)
    with time_machine.travel(T0, tick=False):
        broadcast = services.create_broadcast(
            workspace=workspace,
            name="winter sale",
            segment_id=segment.pk,
            action=Broadcast.MESSAGE,
            template="sale",
            schedule=Broadcast.ONCE,
            send_at=at,
            rate=rate,
            **fields,
        )
        return services.schedule_broadcast(broadcast=broadcast)


def test_a_one_off_sends_each_member_one_message_once(workspace):
    ws = workspace.workspace
    segment, people = audience(ws, 3)
    broadcast = one_off(ws, segment)

    assert runs.run_due(now=T0 + dt.timedelta(minutes=59)) == 0, "not before its time"
    assert broadcast_messages(broadcast) == []
    at = T0 + dt.timedelta(hours=1)
    assert runs.run_due(now=at) == 3
    with time_machine.travel(at + dt.timedelta(seconds=1), tick=False):
        sending.send_due()

    messages = broadcast_messages(broadcast)
    assert [m.profile_id for m in messages] == [p.pk for p in people]
    assert {(m.status, m.source) for m in messages} == {(Message.SENT, Message.BROADCAST)}
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.targeted, broadcast.entered) == (Broadcast.COMPLETED, 3, 3)
    # The tick again, and even the same run replayed from its start, sends nothing twice.
    assert runs.run_due(now=at + dt.timedelta(minutes=1)) == 0
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status=Broadcast.RUNNING, cursor=0, next_slice_at=at
    )
    assert runs.run_due(now=at + dt.timedelta(minutes=2)) == 3
    assert len(broadcast_messages(broadcast)) == 3
    assert message_counts(broadcast) == {Message.SENT: 3}


def test_throttling_spreads_the_audience_over_ticks_at_the_rate(workspace, settings):
    settings.ENGAGE_BROADCAST_SECONDS = 5.0
    ws = workspace.workspace
    segment, _ = audience(ws, 25)
    broadcast = one_off(ws, segment, rate=2)  # 10 members a tick of 5 s
    at = T0 + dt.timedelta(hours=1)

    handed = [runs.run_due(now=at + dt.timedelta(seconds=s)) for s in (0, 1, 4, 5, 9, 10)]

    assert handed == [10, 0, 0, 10, 0, 5]
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.targeted) == (Broadcast.COMPLETED, 25)
    assert len(broadcast_messages(broadcast)) == 25


def test_pause_resume_and_cancel_midway(workspace, settings):
    settings.ENGAGE_BROADCAST_SECONDS = 1.0
    ws = workspace.workspace
    segment, _ = audience(ws, 9)
    broadcast = one_off(ws, segment, rate=3)
    at = T0 + dt.timedelta(hours=1)
    assert runs.run_due(now=at) == 3

    services.pause_broadcast(broadcast=broadcast)
    assert runs.run_due(now=at + dt.timedelta(seconds=5)) == 0, "paused: no slice"
    with time_machine.travel(at + dt.timedelta(seconds=6), tick=False):
        services.resume_broadcast(broadcast=broadcast)
    assert runs.run_due(now=at + dt.timedelta(seconds=6)) == 3, "resumed where it stopped"
    assert len({m.profile_id for m in broadcast_messages(broadcast)}) == 6

    # Two queued messages are cancelled; one a worker already sent stays sent.
    first = broadcast_messages(broadcast)[0]
    with time_machine.travel(at + dt.timedelta(seconds=7), tick=False):
        sending.send_message(first.pk)
    services.cancel_broadcast(broadcast=broadcast, now=at + dt.timedelta(seconds=8))

    assert runs.run_due(now=at + dt.timedelta(seconds=20)) == 0, "cancelled: no slice"
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.targeted) == (Broadcast.CANCELLED, 6)
    assert message_counts(broadcast) == {Message.SENT: 1, Message.CANCELLED: 5}
    with time_machine.travel(at + dt.timedelta(seconds=30), tick=False):
        assert sending.send_due() == 0, "nothing cancelled goes out"


def test_daily_in_each_customers_timezone_goes_at_their_local_time(workspace):
    ws = workspace.workspace
    MessagingPolicy.objects.create(workspace=ws, default_timezone="Europe/Paris")
    segment, people = audience(ws, 3, zones=["Asia/Tokyo", "America/New_York"])
    inapp_template(ws)
    with time_machine.travel(T0, tick=False):
        broadcast = services.create_broadcast(
            workspace=ws,
            name="morning tip",
            segment_id=segment.pk,
            action=Broadcast.MESSAGE,
            template="sale",
            schedule=Broadcast.DAILY,
            local_time="09:00",
            timezone=Broadcast.CUSTOMER,
            rate=100,
        )
        services.schedule_broadcast(broadcast=broadcast)
    broadcast.refresh_from_db()
    # 09:00 on 2 December reaches UTC+14 at 19:00 UTC on 1 December: that run
    # is the first one not yet begun anywhere.
    start = dt.datetime(2026, 12, 1, 19, 0, tzinfo=dt.UTC)
    assert (broadcast.run_date, broadcast.next_slice_at) == (dt.date(2026, 12, 2), start)

    assert runs.run_due(now=start) == 3
    local = {
        m.profile_id: m.next_attempt_at.astimezone(ZoneInfo(zone))
        for m, zone in zip(
            broadcast_messages(broadcast),
            ["Asia/Tokyo", "America/New_York", "Europe/Paris"],
            strict=True,
        )
    }
    nine = dt.datetime(2026, 12, 2, 9, 0)
    assert {pk: at.replace(tzinfo=None) for pk, at in local.items()} == dict.fromkeys(
        [p.pk for p in people], nine
    )
    # Tokyo's 09:00 is 00:00 UTC, New York's 14:00, Paris's 08:00.
    assert [m.next_attempt_at.hour for m in broadcast_messages(broadcast)] == [0, 14, 8]
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.SCHEDULED, "the next day's run waits"
    assert broadcast.next_slice_at == start + dt.timedelta(days=1)
    assert runs.run_due(now=start + dt.timedelta(days=1)) == 3
    assert len(broadcast_messages(broadcast)) == 6, "one message a member a day"


def test_daily_in_the_workspaces_timezone_runs_at_its_local_time(workspace):
    ws = workspace.workspace
    MessagingPolicy.objects.create(workspace=ws, default_timezone="America/New_York")
    segment, _ = audience(ws, 2, zones=["Asia/Tokyo"])
    inapp_template(ws)
    with time_machine.travel(T0, tick=False):
        broadcast = services.create_broadcast(
            workspace=ws,
            name="morning tip",
            segment_id=segment.pk,
            action=Broadcast.MESSAGE,
            template="sale",
            schedule=Broadcast.DAILY,
            local_time="09:00",
            rate=100,
        )
        services.schedule_broadcast(broadcast=broadcast)
    broadcast.refresh_from_db()
    # 09:00 in New York on 1 December is 14:00 UTC, whatever the customer's zone.
    assert broadcast.next_slice_at == dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
    assert runs.run_due(now=broadcast.next_slice_at - dt.timedelta(seconds=1)) == 0
    first_run = broadcast.next_slice_at
    with time_machine.travel(broadcast.next_slice_at, tick=False):
        assert runs.run_due() == 2
    assert {m.next_attempt_at for m in broadcast_messages(broadcast)} == {broadcast.next_slice_at}
    # Changed between runs, it is planned again for the next day's run, which
    # sends each member one more message.
    with time_machine.travel(first_run + dt.timedelta(hours=1), tick=False):
        broadcast = services.change_broadcast(broadcast=broadcast, rate=50)
    assert (broadcast.run, broadcast.next_slice_at) == (2, first_run + dt.timedelta(days=1))
    assert runs.run_due(now=first_run + dt.timedelta(days=1)) == 2
    assert len(broadcast_messages(broadcast)) == 4


def test_a_journey_broadcast_enters_members_through_the_entry_rules(workspace):
    ws = workspace.workspace
    journey = live_journey(
        ws,
        {
            "trigger": {"event": "Signed Up"},
            "entry": {"reentry": "never"},
            "start": "pause",
            "nodes": {
                "pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
                "done": {"type": "exit"},
            },
        },
    )
    segment, people = audience(ws, 3)
    with time_machine.travel(T0, tick=False):
        entry.enroll(journey=journey, profile_ids=[people[0].pk])
        broadcast = services.create_broadcast(
            workspace=ws,
            name="onboard",
            segment_id=segment.pk,
            action=Broadcast.JOURNEY,
            journey_id=journey.pk,
            schedule=Broadcast.ONCE,
            send_at=T0 + dt.timedelta(hours=1),
            rate=100,
        )
        services.schedule_broadcast(broadcast=broadcast)

    assert runs.run_due(now=T0 + dt.timedelta(hours=1)) == 3

    entered = Enrollment.objects.filter(journey=journey).values_list("profile_id", flat=True)
    assert sorted(entered) == [p.pk for p in people], "the one already in did not enter twice"
    broadcast.refresh_from_db()
    assert (broadcast.targeted, broadcast.entered, broadcast.refused) == (3, 2, 1)


def test_a_journey_paused_meanwhile_pauses_the_broadcast(workspace):
    ws = workspace.workspace
    journey = live_journey(
        ws, {"trigger": {"event": "x"}, "start": "done", "nodes": {"done": {"type": "exit"}}}
    )
    segment, _ = audience(ws, 2)
    with time_machine.travel(T0, tick=False):
        broadcast = services.create_broadcast(
            workspace=ws,
            name="onboard",
            segment_id=segment.pk,
            action=Broadcast.JOURNEY,
            journey_id=journey.pk,
            schedule=Broadcast.ONCE,
            send_at=T0 + dt.timedelta(hours=1),
            rate=100,
        )
        services.schedule_broadcast(broadcast=broadcast)
    journey.status = journey.PAUSED
    journey.save()

    assert runs.run_due(now=T0 + dt.timedelta(hours=1)) == 0
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.PAUSED
    assert broadcast.error == "journey_id: the journey is paused, not live"
    assert broadcast.targeted == 0
