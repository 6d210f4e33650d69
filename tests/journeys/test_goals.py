"""A conversion goal ends the enrollment as converted wherever the customer
stands, and cancels what it queued that has not started sending."""

import datetime as dt

import pytest
from django.utils import timezone

from engage.events.recording import EventToRecord, record_events
from engage.journeys import entry
from engage.journeys.models import Enrollment
from engage.messaging.models import Message, MessageDecision
from tests.customer_factories import ProfileFactory

from .factories import live_journey
from .walking import ledger

pytestmark = pytest.mark.django_db

CART = {
    "trigger": {"manual": True},
    "goal": {
        "event": "Order Completed",
        "where": [{"property": "total", "op": "gt", "value": 0}],
        "within_hours": 24,
    },
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"days": 3}, "next": "done"},
        "done": {"type": "exit"},
    },
}


def message(enrollment, status: str, key: str) -> Message:
    return Message.objects.create(
        workspace_id=enrollment.workspace_id,
        profile_id=enrollment.profile_id,
        channel="email",
        category="marketing",
        idempotency_key=key,
        status=status,
        source="journey",
        journey_id=enrollment.journey_id,
        journey_version=1,
        journey_node_id="reminder",
        enrollment_id=enrollment.pk,
    )


def record(ws, profile, name: str, at, key: str, **properties) -> int:
    (event,) = record_events([EventToRecord(ws.pk, profile.pk, name, key, at, properties)])
    return event.id


def test_the_goal_event_converts_the_customer_and_cancels_the_queued_reminder(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    journey = live_journey(ws, CART)
    ann, bob, cid, dee = ProfileFactory.create_batch(4, workspace=ws)
    with django_capture_on_commit_callbacks(execute=True):
        entered = entry.enroll(journey=journey, profile_ids=[ann.pk, bob.pk, cid.pk, dee.pk])
    now = timezone.now()
    mine = {e.profile_id: e for e in entered.entered}
    queued = message(mine[ann.pk], Message.QUEUED, "reminder-ann")
    sending = message(mine[ann.pk], Message.SENDING, "earlier-ann")
    elsewhere = Message.objects.create(
        workspace=ws, profile=ann, channel="email", category="marketing", idempotency_key="api"
    )

    with django_capture_on_commit_callbacks(execute=True):
        # Ann's order was placed before the entry was written (processing lag).
        order = record(ws, ann, "Order Completed", now - dt.timedelta(minutes=1), "o-ann", total=40)
        record(ws, bob, "Order Completed", now, "o-bob", total=0)
        record(ws, cid, "Order Completed", now + dt.timedelta(hours=25), "o-cid", total=40)
        record(ws, dee, "Order Viewed", now, "o-dee", total=40)

    converted = Enrollment.objects.get(pk=mine[ann.pk].pk)
    assert (converted.end_reason, converted.next_run_at) == ("converted", None)
    assert ledger(converted)[-2:] == [
        ("exit", "converted", "pause"),
        ("cancel", "cancelled", "reminder"),
    ]
    assert MessageDecision.objects.get(enrollment_id=converted.pk, action="exit").detail == str(
        order
    )
    queued.refresh_from_db()
    assert queued.status == Message.CANCELLED
    assert MessageDecision.objects.get(message=queued, action="cancel").detail == (
        "the customer converted"
    )
    assert Message.objects.get(pk=sending.pk).status == Message.SENDING
    assert Message.objects.get(pk=elsewhere.pk).status == Message.QUEUED
    still = Enrollment.objects.filter(journey=journey, ended_at__isnull=True)
    assert set(still.values_list("profile_id", flat=True)) == {bob.pk, cid.pk, dee.pk}


def test_a_converted_customer_is_converted_once(workspace, django_capture_on_commit_callbacks):
    ws = workspace.workspace
    journey = live_journey(ws, CART)
    ann = ProfileFactory(workspace=ws)
    now = timezone.now()
    (enrollment,) = entry.enroll(journey=journey, profile_ids=[ann.pk], now=now).entered

    with django_capture_on_commit_callbacks(execute=True):
        record(ws, ann, "Order Completed", now, "o-1", total=40)
        record(ws, ann, "Order Completed", now, "o-2", total=40)

    exits = MessageDecision.objects.filter(enrollment_id=enrollment.pk, action="exit")
    assert list(exits.values_list("reason", flat=True)) == ["converted"]
