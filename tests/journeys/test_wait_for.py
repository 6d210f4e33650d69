"""``wait_for``: a customer waits for an event (with property filters) or for
a response to a message, and goes on by ``matched`` when it comes or by
``timeout`` when it does not; the first event wins."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from engage.events.recording import EventToRecord, record_events
from engage.journeys import engine, entry, incoming, wakes
from engage.journeys.models import Enrollment
from engage.journeys.validation import InvalidDefinition, validate_definition
from engage.messaging import timeline
from engage.messaging.models import Message, MessageDecision, MessageTemplate
from engage.profiles.models import Identity, Profile
from tests.customer_factories import ProfileFactory
from tests.messaging import conftest as messaging

from .factories import live_journey
from .walking import counts, ledger

pytestmark = pytest.mark.django_db

smtp_server = messaging.smtp_server
email_channel = messaging.email_channel

ORDER = {
    "trigger": {"manual": True},
    "start": "listen",
    "nodes": {
        "listen": {
            "type": "wait_for",
            "event": "Order Completed",
            "where": [{"property": "total", "op": "gt", "value": 0}],
            "timeout": {"days": 2},
            "next": {"matched": "thanks", "timeout": "nudge"},
        },
        "thanks": {"type": "exit"},
        "nudge": {"type": "exit"},
    },
}


def record(ws, profile, name: str, key: str, **properties) -> int:
    (event,) = record_events(
        [EventToRecord(ws.pk, profile.pk, name, key, timezone.now(), properties)]
    )
    return event.id


def fresh(enrollment) -> Enrollment:
    return Enrollment.objects.get(pk=enrollment.pk)


def test_the_awaited_event_moves_the_customer_on_by_matched_and_silence_by_timeout(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    journey = live_journey(ws, ORDER)
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)
    now = timezone.now()
    first, second = entry.enroll(journey=journey, profile_ids=[ann.pk, bob.pk], now=now).entered
    engine.advance(now=now)
    parked = fresh(first)
    assert (parked.waiting, parked.waiting_for) == (True, "Order Completed")
    assert parked.next_run_at == now + dt.timedelta(days=2)

    with django_capture_on_commit_callbacks(execute=True):
        order = record(ws, ann, "Order Completed", "o-ann", total=30)
        record(ws, bob, "Order Completed", "o-bob", total=0)  # filtered out
        record(ws, bob, "Cart Updated", "c-bob", total=30)

    assert fresh(first).end_reason == "completed"
    assert ledger(first) == [
        ("enter", "manual", "listen"),
        ("wait", "event", "listen"),
        ("wake", "event", "listen"),
        ("exit", "completed", "thanks"),
    ]
    wake = MessageDecision.objects.get(enrollment_id=first.pk, action="wake")
    assert wake.detail == str(order)
    assert fresh(second).ended_at is None

    engine.advance(now=now + dt.timedelta(days=2))

    assert ledger(second)[-2:] == [("wake", "timeout", "listen"), ("exit", "completed", "nudge")]
    assert counts(journey)[("listen", "matched")] == 1
    assert counts(journey)[("listen", "timeout")] == 1


@pytest.fixture
def template(workspace):
    return MessageTemplate.objects.create(
        workspace=workspace.workspace, name="hello", channel="email", subject="Hi", body="Hi"
    )


def emailable(ws, name: str) -> Profile:
    profile = Profile.objects.create(workspace=ws)
    Identity.objects.create(workspace=ws, profile=profile, kind="email", value=f"{name}@x.test")
    return profile


RESPONSE = {
    "trigger": {"manual": True},
    "start": "hello",
    "nodes": {
        "hello": {
            "type": "send",
            "channel": "email",
            "template": "hello",
            "category": "marketing",
            "next": "listen",
        },
        "listen": {
            "type": "wait_for",
            "response_to": "hello",
            "timeout": {"days": 1},
            "next": {"matched": "answered", "timeout": "silent"},
        },
        "answered": {"type": "exit"},
        "silent": {"type": "exit"},
    },
}


def test_a_response_to_the_message_wakes_the_customer_and_one_never_announced_still_counts(
    workspace, email_channel, template, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    journey = live_journey(ws, RESPONSE)
    ann, bob, cid = (emailable(ws, name) for name in ("ann", "bob", "cid"))
    now = timezone.now()
    by_profile = {
        e.profile_id: e
        for e in entry.enroll(
            journey=journey, profile_ids=[ann.pk, bob.pk, cid.pk], now=now
        ).entered
    }
    engine.advance(now=now)
    assert fresh(by_profile[ann.pk]).waiting_for == "@response"
    hello = Message.objects.get(enrollment_id=by_profile[ann.pk].pk)
    assert hello.journey_node_id == "hello"

    # Ann opens the mail: her wait wakes at once.
    with django_capture_on_commit_callbacks(execute=True):
        timeline.record_event(
            profile=ann,
            name=timeline.event_name("Email", "opened"),
            key="open-ann",
            properties={"message_id": hello.pk},
            channel="email",
        )
    assert ledger(by_profile[ann.pk])[-1] == ("exit", "completed", "answered")
    # Bob clicks, but the announcement is lost (its commit callbacks never run).
    record(ws, bob, "Email Clicked", "click-bob")
    assert fresh(by_profile[bob.pk]).wake_event_id is None

    engine.advance(now=now + dt.timedelta(days=1))

    assert ledger(by_profile[bob.pk])[-1] == ("exit", "completed", "answered")
    assert ledger(by_profile[cid.pk])[-1] == ("exit", "completed", "silent")


@pytest.mark.parametrize(
    ("listen", "error"),
    [
        (
            {"event": "Paid", "response_to": "hello"},
            "definition.nodes.listen: must have either event or response_to",
        ),
        ({}, "definition.nodes.listen: must have either event or response_to"),
        (
            {"event": "Paid", "where": [{"property": "total", "op": "about", "value": 1}]},
            "definition.nodes.listen.where[0].op: unknown operator 'about'",
        ),
        (
            {"response_to": "hello", "where": []},
            "definition.nodes.listen.where: only with event",
        ),
        ({"response_to": "done"}, "definition.nodes.listen.response_to: node 'done' is not a"),
        ({"response_to": "later"}, "definition.nodes.listen.response_to: node 'later' does not"),
        ({"event": ""}, "definition.nodes.listen.event: must be a non-empty string"),
    ],
    ids=[
        "both",
        "neither",
        "bad-filter",
        "where-without-event",
        "not-a-send",
        "after-the-wait",
        "empty-event",
    ],
)
def test_a_malformed_wait_for_is_refused_naming_its_path(
    workspace, email_channel, template, listen, error
):
    definition = {
        "trigger": {"manual": True},
        "start": "hello",
        "nodes": {
            "hello": {
                "type": "send",
                "channel": "email",
                "template": "hello",
                "category": "marketing",
                "next": "listen",
            },
            "listen": {
                "type": "wait_for",
                "timeout": {"hours": 1},
                "next": {"matched": "later", "timeout": "done"},
                **listen,
            },
            "later": {
                "type": "send",
                "channel": "email",
                "template": "hello",
                "category": "marketing",
                "next": "done",
            },
            "done": {"type": "exit"},
        },
    }
    with pytest.raises(InvalidDefinition) as refused:
        validate_definition(definition, workspace=workspace.workspace)
    assert any(e.startswith(error) for e in refused.value.errors), refused.value.errors


def test_a_timeout_of_zero_is_refused(workspace):
    definition = {**ORDER, "nodes": {**ORDER["nodes"]}}
    definition["nodes"]["listen"] = {**ORDER["nodes"]["listen"], "timeout": {"hours": 0}}
    with pytest.raises(InvalidDefinition) as refused:
        validate_definition(definition, workspace=workspace.workspace)
    assert refused.value.errors == ["definition.nodes.listen.timeout: must be longer than zero"]


@pytest.mark.django_db(transaction=True)
def test_two_events_at_once_advance_the_waiting_customer_once(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers run on PostgreSQL")
    ws = workspace.workspace
    # A second order is awaited after the first: an event that woke the
    # first wait must not wake the second too.
    again = {**ORDER["nodes"]["listen"], "next": {"matched": "thanks", "timeout": "nudge"}}
    listen = {**ORDER["nodes"]["listen"], "next": {"matched": "again", "timeout": "nudge"}}
    journey = live_journey(
        ws, {**ORDER, "nodes": {**ORDER["nodes"], "listen": listen, "again": again}}
    )
    ann = ProfileFactory(workspace=ws)
    now = timezone.now()
    (enrollment,) = entry.enroll(journey=journey, profile_ids=[ann.pk], now=now).entered
    engine.advance(now=now)
    recorded, failures = [], []

    def order(key: str):
        try:
            recorded.append(record(ws, ann, "Order Completed", key, total=10))
        except Exception as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=order, args=(f"o-{n}",)) for n in range(2)]
    # Hold the enrollment's row so that both receivers have read it as
    # waiting before either can lock it: the race the lock must settle.
    with transaction.atomic():
        Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while _waiting_on_locks() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_locks() == 2
    for thread in threads:
        thread.join(30)
    # The step runs on the wake's kick, or, when the other receiver still held
    # the row at that moment, on beat's next sweep.
    engine.advance()

    assert failures == []
    parked = fresh(enrollment)
    assert (parked.node_id, parked.waiting, parked.wake_event_id) == ("again", True, None)
    wake = MessageDecision.objects.get(enrollment_id=enrollment.pk, action="wake")
    assert int(wake.detail) in recorded
    assert ledger(enrollment) == [
        ("enter", "manual", "listen"),
        ("wait", "event", "listen"),
        ("wake", "event", "listen"),
        ("wait", "event", "again"),
    ]


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        # pg_locks is read live (pg_stat_activity is a snapshot per transaction).
        cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


def test_an_event_read_before_the_customer_moved_on_does_not_wake_the_next_wait(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    again = {**ORDER["nodes"]["listen"], "next": {"matched": "thanks", "timeout": "nudge"}}
    listen = {**ORDER["nodes"]["listen"], "next": {"matched": "again", "timeout": "nudge"}}
    journey = live_journey(
        ws, {**ORDER, "nodes": {**ORDER["nodes"], "listen": listen, "again": again}}
    )
    ann = ProfileFactory(workspace=ws)
    now = timezone.now()
    (enrollment,) = entry.enroll(journey=journey, profile_ids=[ann.pk], now=now).entered
    engine.advance(now=now)
    # Two orders are recorded at once; the second's receiver reads the
    # customer waiting at the first wait, then the first order moves her on.
    late = record_events(
        [EventToRecord(ws.pk, ann.pk, "Order Completed", "o-2", timezone.now(), {"total": 5})]
    )
    stale = incoming.load(late)
    with django_capture_on_commit_callbacks(execute=True):
        record(ws, ann, "Order Completed", "o-1", total=5)
    assert fresh(enrollment).node_id == "again"

    assert wakes.apply(stale, ended=set()) == set()
    assert fresh(enrollment).wake_event_id is None
