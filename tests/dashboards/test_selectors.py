"""The dashboard's own numbers, against a small shop worked out by hand; the
other workspace's rows are there each time and never counted."""

import datetime as dt
from datetime import date

import pytest

from engage.dashboards import selectors
from engage.messaging.models import Message, MessageDecision
from engage.metrics.window import Window
from tests.customer_factories import EventFactory, ProfileFactory

DAY1 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)  # a Monday
RANGE = Window(date(2026, 3, 2), date(2026, 3, 4))


def at(days: float) -> dt.datetime:
    return DAY1 + dt.timedelta(days=days)


@pytest.fixture
def shop(workspace, other_workspace):
    ws, other = workspace.workspace, other_workspace.workspace
    ann = ProfileFactory(workspace=ws, first_seen_at=at(0))
    bob = ProfileFactory(workspace=ws, first_seen_at=at(0.5))
    cid = ProfileFactory(workspace=ws, first_seen_at=at(2))
    ProfileFactory(workspace=ws, first_seen_at=at(0), merged_into=ann)  # counted in ann
    ProfileFactory(workspace=ws, first_seen_at=at(-1))  # before the range
    stranger = ProfileFactory(workspace=other, first_seen_at=at(0))
    for profile, day, name, channel in [
        (ann, 0, "Page Viewed", "web"),
        (ann, 0.1, "Page Viewed", "web"),
        (bob, 0.2, "Page Viewed", "web"),
        (ann, 1, "Email Opened", "email"),
        (cid, 2, "Store Visit", ""),
        (bob, 2.1, "Email Sent", "email"),  # engage wrote it: no one's activity
        (ann, 3, "Page Viewed", "web"),  # after the range
        (stranger, 0, "Page Viewed", "web"),
    ]:
        EventFactory(profile=profile, timestamp=at(day), name=name, channel=channel)
    EventFactory(profile=bob, timestamp=at(1), channel="web", quarantined_at=at(1))
    return ws, other, {"ann": ann, "bob": bob, "cid": cid, "stranger": stranger}


def test_customers_and_events_per_day_with_empty_days_as_zero(shop):
    ws, _other, _people = shop

    found = selectors.customers_and_events(ws, RANGE)

    assert [(d.day.isoformat(), d.customers, d.events) for d in found] == [
        ("2026-03-02", 2, 3),
        ("2026-03-03", 0, 1),
        ("2026-03-04", 1, 2),
    ]


def test_active_customers_by_channel_count_each_customer_once(shop):
    ws, other, _people = shop

    assert selectors.active_by_channel(ws, RANGE) == [
        ("web", 2),
        ("(none)", 1),
        ("email", 1),
    ]
    assert selectors.active_by_channel(other, RANGE) == [("web", 1)]


def _message(profile, channel, status, day, key):
    message = Message.objects.create(
        workspace=profile.workspace,
        profile=profile,
        channel=channel,
        category=Message.MARKETING,
        status=status,
        idempotency_key=key,
    )
    Message.objects.filter(pk=message.pk).update(created_at=at(day))
    return message


def _decision(profile, action, reason, day):
    decision = MessageDecision.objects.create(
        workspace=profile.workspace, profile=profile, channel="email", action=action, reason=reason
    )
    MessageDecision.objects.filter(pk=decision.pk).update(created_at=at(day))


def test_messages_by_channel_and_status(shop):
    ws, other, people = shop
    _message(people["ann"], "email", Message.SENT, 0, "a")
    _message(people["bob"], "email", Message.SENT, 1, "b")
    _message(people["bob"], "email", Message.FAILED, 1, "c")
    _message(people["cid"], "sms", Message.DELIVERED, 2, "d")
    _message(people["cid"], "sms", Message.DELIVERED, 5, "e")  # after the range
    _message(people["stranger"], "email", Message.SENT, 0, "f")

    assert selectors.messages_by_channel_and_status(ws, RANGE) == {
        "email": {"failed": 1, "sent": 2},
        "sms": {"delivered": 1},
    }
    assert selectors.messages_by_channel_and_status(other, RANGE) == {"email": {"sent": 1}}


def test_top_decisions_are_skips_and_deferrals_by_reason_most_first(shop):
    ws, other, people = shop
    ann, bob, stranger = people["ann"], people["bob"], people["stranger"]
    for profile in (ann, bob, ann):
        _decision(profile, MessageDecision.SKIP, "no_address", 1)
    _decision(bob, MessageDecision.DEFER, "quiet_hours", 1)
    _decision(bob, MessageDecision.SKIP, "frequency_cap", 2)
    _decision(bob, MessageDecision.DEFER, "frequency_cap", 2)
    _decision(ann, MessageDecision.SEND, "sent", 1)  # not held back
    _decision(ann, MessageDecision.SKIP, "no_address", 9)  # after the range
    _decision(stranger, MessageDecision.SKIP, "no_address", 1)

    assert selectors.top_decisions(ws, RANGE) == [
        ("skip", "no_address", 3),
        ("defer", "frequency_cap", 1),
        ("defer", "quiet_hours", 1),
        ("skip", "frequency_cap", 1),
    ]
    assert selectors.top_decisions(ws, RANGE, limit=1) == [("skip", "no_address", 3)]
    assert selectors.top_decisions(other, RANGE) == [("skip", "no_address", 1)]


def test_a_customers_activity_by_week_and_channel(shop):
    _ws, _other, people = shop
    ann = people["ann"]
    EventFactory(profile=ann, timestamp=at(7), channel="sms")

    found = selectors.activity_by_week(ann, Window(date(2026, 3, 2), date(2026, 3, 15)))

    assert found == {
        date(2026, 3, 2): {"web": 3, "email": 1},
        date(2026, 3, 9): {"sms": 1},
    }
