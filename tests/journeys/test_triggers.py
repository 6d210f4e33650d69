"""Customers enter journeys on the events that trigger them: a tracked event
passing its property filters, or entering or leaving a segment; and leave
when they leave the trigger segment."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.events.recording import EventToRecord, record_events
from engage.journeys.models import Enrollment, Journey
from engage.journeys.receivers import on_events_recorded
from engage.messaging.models import MessageDecision
from engage.segments.membership import add_members
from engage.segments.models import Segment
from tests.customer_factories import ProfileFactory
from tests.identity_helpers import profile_of, send

from .factories import live_journey
from .walking import ledger

pytestmark = pytest.mark.django_db

PAUSE = {
    "pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
    "done": {"type": "exit"},
}
BIG_CART = {
    "trigger": {
        "event": "Cart Updated",
        "where": [
            {"property": "total", "op": "gte", "value": 50},
            {"property": "items", "op": "contains", "value": "sku-1"},
        ],
    },
    "start": "pause",
    "nodes": PAUSE,
}


def track(ws, user_id: str, name: str, **properties):
    return send(ws, "track", user_id=user_id, name=name, properties=properties)


def active(journey) -> dict[int, Enrollment]:
    return {
        e.profile_id: e for e in Enrollment.objects.filter(journey=journey, ended_at__isnull=True)
    }


def test_a_tracked_event_passing_the_filters_lets_the_customer_in_once(
    workspace, other_workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    journey = live_journey(ws, BIG_CART)
    elsewhere = live_journey(other_workspace.workspace, BIG_CART)

    with django_capture_on_commit_callbacks(execute=True):
        big = track(ws, "ann", "Cart Updated", total=80, items=["sku-1", "sku-2"])
        track(ws, "bob", "Cart Updated", total=80, items=["sku-2"])
        track(ws, "cid", "Cart Updated", total="80", items=["sku-1"])  # text, not a number
        track(ws, "dee", "Cart Viewed", total=80, items=["sku-1"])
        track(ws, "ann", "Cart Updated", total=90, items=["sku-1"])

    ann = profile_of(ws, "user_id", "ann")
    assert set(active(journey)) == {ann.pk}
    enrollment = active(journey)[ann.pk]
    assert enrollment.trigger_event_id == big.pk
    assert ledger(enrollment)[0] == ("enter", "event", "pause")
    assert MessageDecision.objects.get(enrollment_id=enrollment.pk, action="enter").detail == str(
        big.pk
    )
    # The engine took the first step once the entry committed.
    assert ledger(enrollment)[1] == ("wait", "duration", "pause")
    assert not Enrollment.objects.filter(journey=elsewhere).exists()


def test_a_paused_journey_lets_nobody_in(workspace, django_capture_on_commit_callbacks):
    ws = workspace.workspace
    journey = live_journey(ws, BIG_CART)
    Journey.objects.filter(pk=journey.pk).update(status=Journey.PAUSED)

    with django_capture_on_commit_callbacks(execute=True):
        track(ws, "ann", "Cart Updated", total=80, items=["sku-1"])

    assert not Enrollment.objects.filter(journey=journey).exists()


@pytest.mark.parametrize("on", ["enter", "leave"])
def test_entering_or_leaving_the_trigger_segment_lets_the_customer_in(
    workspace, django_capture_on_commit_callbacks, on
):
    ws = workspace.workspace
    vips = Segment.objects.create(workspace=ws, name="vips", kind=Segment.STATIC)
    others = Segment.objects.create(workspace=ws, name="others", kind=Segment.STATIC)
    journey = live_journey(
        ws, {"trigger": {"segment": vips.pk, "on": on}, "start": "pause", "nodes": PAUSE}
    )
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)

    with django_capture_on_commit_callbacks(execute=True):
        add_members(vips, [ann.pk])
        add_members(others, [bob.pk])
    entered_after_joining = set(active(journey))
    with django_capture_on_commit_callbacks(execute=True):
        add_members(vips, [], replace=True)
        add_members(others, [], replace=True)

    if on == "enter":
        assert entered_after_joining == {ann.pk}
    else:
        assert entered_after_joining == set()
        assert set(active(journey)) == {ann.pk}
    (enrollment,) = Enrollment.objects.filter(journey=journey)
    assert ledger(enrollment)[0] == ("enter", f"segment_{on}", "pause")


def test_leaving_the_trigger_segment_ends_the_enrollment(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    vips = Segment.objects.create(workspace=ws, name="vips", kind=Segment.STATIC)
    journey = live_journey(
        ws,
        {
            "trigger": {"segment": vips.pk},
            "exit": {"leaves_segment": True},
            "start": "pause",
            "nodes": PAUSE,
        },
    )
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)
    with django_capture_on_commit_callbacks(execute=True):
        add_members(vips, [ann.pk, bob.pk])
    assert set(active(journey)) == {ann.pk, bob.pk}

    with django_capture_on_commit_callbacks(execute=True):
        add_members(vips, [bob.pk], replace=True)

    assert set(active(journey)) == {bob.pk}
    gone = Enrollment.objects.get(journey=journey, profile=ann)
    assert gone.end_reason == "exited_condition"
    assert (gone.next_run_at, gone.waiting) == (None, False)
    assert ledger(gone)[-1] == ("exit", "exited_condition", "pause")


def test_a_chunk_costs_the_same_queries_for_one_triggering_event_as_for_a_thousand(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite splits a large insert by its limit on parameters")
    ws = workspace.workspace
    live_journey(ws, BIG_CART)
    few = ProfileFactory.create_batch(1, workspace=ws)
    many = ProfileFactory.create_batch(1000, workspace=ws)
    now = timezone.now()
    cart = {"total": 80, "items": ["sku-1"]}

    def chunk(people, tag):
        return [
            EventToRecord(ws.pk, p.pk, "Cart Updated", f"{tag}-{p.pk}", now, cart) for p in people
        ]

    sizes = []
    for tag, people in (("few", few), ("many", many)):
        recorded = record_events(chunk(people, tag))
        with CaptureQueriesContext(connection) as captured:
            on_events_recorded(sender=None, events=recorded)
        sizes.append(len(captured))
    # A thousand customers (a whole chunk of processing's announcement) are
    # locked one by one in the same single statement as one customer.
    assert sizes[1] == sizes[0]
    assert Enrollment.objects.count() == 1001
