"""What reading an announced chunk costs journeys: every re-check of segments
and every processed batch announces one, so a chunk no journey listens to
costs one query, and a chunk of orders that trigger journeys two (the
journeys, the orders' properties), however many customers stand in them."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.events.recording import EventToRecord, record_events
from engage.events.signals import events_recorded
from engage.journeys import incoming
from engage.journeys.receivers import on_events_recorded
from engage.segments.membership import ENTERED
from tests.customer_factories import ProfileFactory

from .factories import ORDERS, live_journey
from .walking import enroll

pytestmark = pytest.mark.django_db

REVIEWS = {
    "trigger": {"manual": True},
    "start": "ask",
    "nodes": {
        "ask": {
            "type": "wait_for",
            "event": "Review Written",
            "timeout": {"days": 3},
            "next": {"event": "done", "timeout": "done"},
        },
        "done": {"type": "exit"},
    },
}
IDS = itertools.count()


def chunk(ws, people, name: str):
    events_recorded.disconnect(dispatch_uid="journeys-events")
    try:
        now = timezone.now()
        return record_events(
            [
                EventToRecord(ws.pk, p.pk, name, f"{name}-{p.pk}-{next(IDS)}", now, {})
                for p in people
            ]
        )
    finally:
        events_recorded.connect(on_events_recorded, dispatch_uid="journeys-events")


def loaded(recorded):
    with CaptureQueriesContext(connection) as queries:
        result = incoming.load(recorded)
    return result, len(queries)


def test_a_chunk_no_journey_listens_to_costs_one_query(workspace):
    ws = workspace.workspace
    people = ProfileFactory.create_batch(30, workspace=ws)
    for n in range(3):
        enroll(live_journey(ws, ORDERS, name=f"orders {n}"), people)

    assert loaded(chunk(ws, people, ENTERED)) == (None, 1)


def test_orders_cost_two_queries_for_one_customer_or_thirty(workspace):
    ws = workspace.workspace
    people = ProfileFactory.create_batch(31, workspace=ws)
    enroll(live_journey(ws, ORDERS), people)

    one, one_queries = loaded(chunk(ws, people[:1], "Order Completed"))
    many, many_queries = loaded(chunk(ws, people[1:], "Order Completed"))

    assert (len(one.events), len(many.events)) == (1, 30)
    assert one_queries == many_queries == 2


def test_a_customer_waiting_for_an_event_of_the_chunk_is_read_only_then(workspace):
    ws = workspace.workspace
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)
    (asked,) = enroll(live_journey(ws, REVIEWS), [ann])
    asked.waiting, asked.waiting_for = True, "Review Written"
    asked.save()

    assert loaded(chunk(ws, [ann, bob], "Page Viewed"))[0] is None
    assert loaded(chunk(ws, [bob], "Review Written"))[0] is None
    reviewed, _ = loaded(chunk(ws, [ann, bob], "Review Written"))

    assert [e.pk for e in reviewed.enrollments] == [asked.pk]
    assert [seen.profile_id for seen in reviewed.events] == [ann.pk, bob.pk]
