"""The second entrance to the events table: events that already belong to a
profile are written set-based and announced once their write commits."""

import datetime as dt

import pytest
from django.db import transaction

from engage.events.models import Event
from engage.events.processing import process_pending
from engage.events.recording import EventToRecord, record_events
from engage.events.signals import events_recorded
from tests.customer_factories import ProfileFactory
from tests.identity_helpers import T0, pending_event, profile_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced():
    """The ``events`` list of each ``events_recorded`` send."""
    sends = []

    def receiver(sender, events, **kwargs):
        sends.append(events)

    events_recorded.connect(receiver, weak=False)
    yield sends
    events_recorded.disconnect(receiver)


def rows(workspace, profile, count, name="Email Opened"):
    return [
        EventToRecord(
            workspace_id=workspace.pk,
            profile_id=profile.pk,
            name=name,
            message_id=f"open:{i}",
            timestamp=T0 + dt.timedelta(minutes=i),
            properties={"n": i},
            channel="email",
        )
        for i in range(count)
    ]


def test_recorded_events_are_on_the_timeline_and_announced_after_the_commit(
    workspace, announced, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        written = record_events(rows(ws, ann, 2))
        assert announced == []  # not before the commit
    event = Event.objects.get(message_id="open:1")
    assert (event.profile_id, event.origin_profile_id) == (ann.pk, ann.pk)
    assert event.processed_at is not None and event.properties == {"n": 1}
    assert (event.type, event.channel) == ("track", "email")
    assert event.timestamp == T0 + dt.timedelta(minutes=1)
    [sent] = announced
    assert sent == written
    payload = {(e.id, e.workspace_id, e.profile_id, e.name, e.message_id, e.channel) for e in sent}
    assert payload == {
        (e.pk, ws.pk, ann.pk, "Email Opened", e.message_id, "email") for e in Event.objects.all()
    }
    assert sent[1].timestamp == T0 + dt.timedelta(minutes=1)


def test_a_message_id_stored_already_is_neither_written_nor_announced_again(
    workspace, announced, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws)
    with django_capture_on_commit_callbacks(execute=True):
        record_events(rows(ws, ann, 1))
    with django_capture_on_commit_callbacks(execute=True):
        again = record_events(rows(ws, ann, 2) + rows(ws, ann, 2))
    assert [e.message_id for e in again] == ["open:1"]
    assert Event.objects.count() == 2
    assert [[e.message_id for e in sent] for sent in announced] == [["open:0"], ["open:1"]]


def test_nothing_is_announced_when_the_write_rolls_back(
    workspace, announced, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        record_events(rows(ws, ann, 3))
        raise RuntimeError
    assert announced == [] and not Event.objects.exists()


def test_a_large_write_is_announced_in_chunks_of_a_thousand(
    workspace, announced, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws)
    with django_capture_on_commit_callbacks(execute=True):
        record_events(rows(ws, ann, 2500))
    assert [len(sent) for sent in announced] == [1000, 1000, 500]
    assert Event.objects.count() == 2500


def test_processing_announces_each_event_it_attributes(
    workspace, announced, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    pending_event(ws, anonymous_id="a", name="Order Completed", at=T0)
    with django_capture_on_commit_callbacks(execute=True):
        assert process_pending() == 1
    a = profile_of(ws, "anonymous_id", "a")
    event = Event.objects.get()
    [[sent]] = announced
    assert (sent.id, sent.workspace_id, sent.profile_id, sent.name, sent.timestamp) == (
        event.pk,
        ws.pk,
        a.pk,
        "Order Completed",
        T0,
    )
