"""Journeys on processing's hot path: a chunk of events enters every journey
it triggers at once, and customers who only stand in journeys cost nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.events.recording import EventToRecord, record_events
from engage.events.signals import events_recorded
from engage.journeys import incoming
from engage.journeys.models import Enrollment
from engage.journeys.receivers import on_events_recorded
from engage.messaging.models import MessageDecision
from tests.customer_factories import ProfileFactory

from .factories import ORDERS, live_journey
from .walking import enroll

pytestmark = pytest.mark.django_db


def recorded_quietly(events):
    """Record ``events`` without announcing them, to announce them by hand."""
    events_recorded.disconnect(dispatch_uid="journeys-events")
    try:
        return record_events(events)
    finally:
        events_recorded.connect(on_events_recorded, dispatch_uid="journeys-events")


def test_a_chunk_enters_many_journeys_in_the_statements_of_one(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite splits a large insert by its limit on parameters")
    ws = workspace.workspace
    live_journey(ws, ORDERS, name="alone")
    people = ProfileFactory.create_batch(200, workspace=ws)
    now = timezone.now()
    recorded = recorded_quietly(
        [EventToRecord(ws.pk, p.pk, "Order Completed", f"o-{p.pk}", now, {}) for p in people]
    )
    with CaptureQueriesContext(connection) as one:
        on_events_recorded(sender=None, events=recorded[:1])
    for n in range(5):
        live_journey(ws, ORDERS, name=f"more {n}")

    with CaptureQueriesContext(connection) as six:
        on_events_recorded(sender=None, events=recorded[1:])

    assert len(six) == len(one)
    assert Enrollment.objects.count() == 1 + 199 * 6
    assert MessageDecision.objects.filter(action="enter").count() == 1 + 199 * 6


def test_customers_only_standing_in_journeys_load_no_enrollment(workspace):
    ws = workspace.workspace
    standing = live_journey(ws, ORDERS, name="standing")
    converting = live_journey(ws, {**ORDERS, "goal": {"event": "Refund Asked"}}, name="goal")
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)
    (parked,) = enroll(standing, [ann])
    Enrollment.objects.filter(pk=parked.pk).update(waiting=True)
    (listening,) = enroll(converting, [bob])
    now = timezone.now()
    recorded = recorded_quietly(
        [EventToRecord(ws.pk, p.pk, "Order Completed", f"o-{p.pk}", now, {}) for p in (ann, bob)]
    )

    chunk = incoming.load(recorded)

    assert [e.pk for e in chunk.enrollments] == [listening.pk]
