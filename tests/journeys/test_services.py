"""Journeys are created, drafted, published, paused, resumed and stopped through the services;
a refused change leaves everything running as it was."""

import datetime as dt

import pytest

from engage.journeys import engine, services
from engage.journeys.models import Enrollment, Journey, JourneyVersion
from engage.messaging.models import Message, MessageDecision
from engage.segments import services as segment_services
from tests.customer_factories import ProfileFactory

from .factories import live_journey

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
FLOW = {
    "trigger": {"manual": True},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"hours": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}
BROKEN = {**FLOW, "start": "nowhere"}


def test_a_journey_starts_as_a_draft_with_its_first_version(workspace):
    journey = services.create_journey(
        workspace=workspace.workspace, name="Welcome", definition=FLOW
    )
    assert (journey.status, journey.live_version) == (Journey.DRAFT, None)
    [version] = journey.versions.all()
    assert (version.number, version.definition, version.published_at) == (1, FLOW, None)


def test_a_bad_definition_or_name_creates_nothing(workspace):
    services.create_journey(workspace=workspace.workspace, name="Welcome")
    with pytest.raises(services.JourneyInvalid) as refused:
        services.create_journey(workspace=workspace.workspace, name="Other", definition=BROKEN)
    assert refused.value.errors == ["definition.start: no node 'nowhere' in nodes"]
    with pytest.raises(services.JourneyInvalid) as refused:
        services.create_journey(workspace=workspace.workspace, name=" Welcome ")
    assert refused.value.errors == ["name: a journey named 'Welcome' already exists"]
    assert list(Journey.objects.values_list("name", flat=True)) == ["Welcome"]
    assert not JourneyVersion.objects.exists()


def test_drafts_are_numbered_and_a_published_version_never_changes(workspace):
    journey = services.create_journey(workspace=workspace.workspace, name="W", definition=FLOW)
    first = journey.versions.get()
    services.publish(version=first, now=T0)
    longer = {**FLOW, "nodes": {**FLOW["nodes"], "pause": {**FLOW["nodes"]["pause"]}}}
    longer["nodes"]["pause"]["duration"] = {"hours": 2}

    with pytest.raises(services.JourneyConflict) as refused:
        services.save_draft(journey=journey, version=first, definition=longer)
    assert str(refused.value) == "version: version 1 is published and cannot change"
    second = services.save_draft(journey=journey, definition=longer)
    again = services.save_draft(journey=journey, version=second, definition=FLOW)

    assert (second.number, again.pk) == (2, second.pk)
    first.refresh_from_db()
    assert first.definition == FLOW and first.published_at == T0
    with pytest.raises(services.JourneyConflict):
        services.publish(version=first)


def test_publishing_makes_the_version_live_and_customers_inside_stay_on_theirs(workspace):
    journey = services.create_journey(workspace=workspace.workspace, name="W", definition=FLOW)
    services.publish(version=journey.versions.get(), now=T0)
    inside = Enrollment.objects.create(
        workspace=workspace.workspace,
        journey=journey,
        version=journey.versions.get(),
        profile=ProfileFactory(workspace=workspace.workspace),
        node_id="pause",
        entered_at=T0,
    )
    draft = services.save_draft(journey=journey, definition=FLOW)

    journey = services.publish(version=draft)

    assert (journey.status, journey.live_version.number) == (Journey.LIVE, 2)
    inside.refresh_from_db()
    assert inside.version.number == 1


def test_a_refused_publish_changes_nothing_running(workspace):
    segment = segment_services.save_segment(
        workspace=workspace.workspace, name="VIP", rules={"event": {"name": "Paid"}}
    )
    journey = services.create_journey(workspace=workspace.workspace, name="W", definition=FLOW)
    services.publish(version=journey.versions.get(), now=T0)
    draft = services.save_draft(
        journey=journey, definition={**FLOW, "trigger": {"segment": segment.pk}}
    )
    segment_id = segment.pk
    segment.delete()  # the draft was valid when saved; it is not any more

    with pytest.raises(services.JourneyInvalid) as refused:
        services.publish(version=draft)

    assert refused.value.errors == [
        f"definition.trigger.segment: no segment {segment_id} in this workspace"
    ]
    journey.refresh_from_db()
    draft.refresh_from_db()
    assert (journey.status, journey.live_version.number, draft.published_at) == (
        Journey.LIVE,
        1,
        None,
    )


def test_pause_resume_and_stop_follow_the_status(workspace):
    journey = services.create_journey(workspace=workspace.workspace, name="W", definition=FLOW)
    with pytest.raises(services.JourneyConflict) as refused:
        services.pause(journey=journey)
    assert str(refused.value) == "status: the journey is draft, not live"
    services.publish(version=journey.versions.get())

    assert services.pause(journey=journey).status == Journey.PAUSED
    with pytest.raises(services.JourneyConflict):
        services.pause(journey=journey)
    assert services.resume(journey=journey).status == Journey.LIVE
    assert services.stop(journey=journey).status == Journey.STOPPED
    with pytest.raises(services.JourneyConflict) as refused:
        services.resume(journey=journey)
    assert str(refused.value) == "status: the journey is stopped, not paused"


def test_a_paused_journey_takes_no_step_until_it_is_resumed(workspace):
    journey = live_journey(workspace.workspace, FLOW)
    due = Enrollment.objects.create(
        workspace=journey.workspace,
        journey=journey,
        version=journey.live_version,
        profile=ProfileFactory(workspace=workspace.workspace),
        node_id="pause",
        next_run_at=T0,
        entered_at=T0,
    )
    services.pause(journey=journey)

    assert engine.advance(now=T0 + dt.timedelta(hours=2)) == 0
    due.refresh_from_db()
    assert (due.waiting, due.visit) == (False, 0)

    services.resume(journey=journey)
    assert engine.advance(now=T0 + dt.timedelta(hours=2)) == 1
    due.refresh_from_db()
    assert due.waiting and due.node_id == "pause"


def test_publishing_while_paused_keeps_the_journey_paused(workspace):
    journey = services.create_journey(workspace=workspace.workspace, name="W", definition=FLOW)
    services.publish(version=journey.versions.get())
    services.pause(journey=journey)
    journey = services.publish(version=services.save_draft(journey=journey, definition=FLOW))
    assert (journey.status, journey.live_version.number) == (Journey.PAUSED, 2)


def _enrolled(journey, profile, *, ended=False) -> Enrollment:
    return Enrollment.objects.create(
        workspace=journey.workspace,
        journey=journey,
        version=journey.live_version,
        profile=profile,
        node_id="pause",
        waiting=not ended,
        next_run_at=None if ended else T0 + dt.timedelta(hours=1),
        entered_at=T0,
        ended_at=T0 if ended else None,
        end_reason=Enrollment.COMPLETED if ended else "",
    )


def _message(enrollment: Enrollment, status: str, **fields) -> Message:
    return Message.objects.create(
        **fields,
        workspace=enrollment.workspace,
        profile=enrollment.profile,
        channel="email",
        category=Message.MARKETING,
        body="Hi",
        status=status,
        idempotency_key=f"{enrollment.pk}:{status}:{bool(fields)}",
        source=Message.JOURNEY,
        journey_id=enrollment.journey_id,
        journey_version=1,
        journey_node_id="pause",
        enrollment_id=enrollment.pk,
    )


def test_stopping_ends_every_active_enrollment_and_cancels_what_it_queued(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, FLOW)
    other = live_journey(ws, FLOW, name="other")
    ada, bob, cy = ProfileFactory.create_batch(3, workspace=ws)
    waiting = _enrolled(journey, ada)
    finished = _enrolled(journey, bob, ended=True)
    elsewhere = _enrolled(other, cy)
    queued = _message(waiting, Message.QUEUED)
    sending = _message(waiting, Message.SENDING)
    # claimed in a worker's chunk, not reached yet: it can still be stopped
    in_chunk = _message(waiting, Message.SENDING, sending_at=T0, next_attempt_at=T0)
    done_queued = _message(finished, Message.QUEUED)
    other_queued = _message(elsewhere, Message.QUEUED)
    stopped_at = T0 + dt.timedelta(minutes=5)

    services.stop(journey=journey, now=stopped_at)

    waiting.refresh_from_db()
    assert (waiting.ended_at, waiting.end_reason, waiting.waiting, waiting.next_run_at) == (
        stopped_at,
        Enrollment.JOURNEY_STOPPED,
        False,
        None,
    )
    [exit_row] = MessageDecision.objects.filter(enrollment_id=waiting.pk, action="exit")
    assert (exit_row.reason, exit_row.journey_id, exit_row.journey_version) == (
        "journey_stopped",
        journey.pk,
        1,
    )
    assert (exit_row.journey_node_id, exit_row.profile_id, exit_row.channel) == (
        "pause",
        ada.pk,
        "",
    )
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {
        queued.pk: Message.CANCELLED,
        in_chunk.pk: Message.CANCELLED,
        sending.pk: Message.SENDING,
        done_queued.pk: Message.QUEUED,
        other_queued.pk: Message.QUEUED,
    }
    cancels = MessageDecision.objects.filter(action="cancel").order_by("message_id")
    assert [(c.message_id, c.detail, c.enrollment_id) for c in cancels] == [
        (queued.pk, "the journey was stopped", waiting.pk),
        (in_chunk.pk, "the journey was stopped", waiting.pk),
    ]
    finished.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (finished.end_reason, elsewhere.ended_at) == (Enrollment.COMPLETED, None)
    assert not MessageDecision.objects.filter(enrollment_id__in=[finished.pk, elsewhere.pk])


def test_only_a_draft_or_stopped_journey_can_be_deleted(workspace):
    journey = live_journey(workspace.workspace, FLOW)
    _enrolled(journey, ProfileFactory(workspace=workspace.workspace))
    with pytest.raises(services.JourneyConflict) as refused:
        services.delete_journey(journey=journey)
    assert str(refused.value) == "status: the journey is live: stop it first"
    services.stop(journey=journey)
    services.delete_journey(journey=journey)
    assert not Journey.objects.exists() and not Enrollment.objects.exists()
