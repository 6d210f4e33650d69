"""After events are processed, only the segments they could change are
re-checked, only for their profiles; the periodic task handles time."""

import datetime as dt
import threading

import pytest

from engage.events.models import Event
from engage.segments import membership, tasks
from engage.segments.models import Segment, SegmentMembership
from engage.segments.realtime import affected_segments
from engage.segments.services import save_segment
from tests.customer_factories import EventFactory, ProfileFactory
from tests.identity_helpers import profile_of, send

pytestmark = pytest.mark.django_db


def current(segment) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).values_list(
            "profile_id", flat=True
        )
    )


@pytest.fixture
def segments(workspace, django_capture_on_commit_callbacks):
    ws = workspace.workspace
    with django_capture_on_commit_callbacks(execute=True):
        repeat = save_segment(
            workspace=ws,
            name="repeat buyers",
            rules={"event": {"name": "Order Completed", "at_least": 2}},
        )
        pro = save_segment(
            workspace=ws,
            name="pro",
            rules={"trait": {"key": "plan", "op": "equals", "value": "pro"}},
        )
        app = save_segment(workspace=ws, name="app users", rules={"event": {"name": "App Opened"}})
    return repeat, pro, app


def test_processing_an_event_updates_the_segments_it_concerns(
    workspace, segments, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    repeat, pro, app = segments
    with django_capture_on_commit_callbacks(execute=True):
        send(ws, user_id="ann", name="Order Completed")
    ann = profile_of(ws, "user_id", "ann")
    assert current(repeat) == set()
    # A stale membership in an unrelated segment shows it was not re-checked.
    SegmentMembership.objects.create(segment=app, profile=ann, entered_at=dt.datetime.now(dt.UTC))

    with django_capture_on_commit_callbacks(execute=True):
        send(ws, user_id="ann", name="Order Completed")
    assert current(repeat) == {ann.pk}
    assert current(app) == {ann.pk}
    assert current(pro) == set()

    with django_capture_on_commit_callbacks(execute=True):
        send(ws, "identify", user_id="ann", traits={"plan": "pro"})
    assert current(pro) == {ann.pk}
    with django_capture_on_commit_callbacks(execute=True):
        send(ws, "identify", user_id="ann", traits={"plan": "free"})
    assert current(pro) == set()
    pro.refresh_from_db()
    assert pro.member_count == 0


@pytest.mark.usefixtures("segments")
def test_affected_segments_follow_the_dependency_index(workspace):
    identity = save_segment(
        workspace=workspace.workspace, name="emailable", rules={"identity": {"kind": "email"}}
    )

    def names(event_names=(), trait_keys=()):
        found = affected_segments(
            workspace_id=workspace.workspace.pk,
            event_names=set(event_names),
            trait_keys=set(trait_keys),
        )
        return {s.name for s in found}

    assert names(["Order Completed"]) == {"repeat buyers", identity.name}
    assert names(trait_keys=["plan"]) == {"pro", identity.name}
    assert names(["Page Viewed"], ["city"]) == {identity.name}


def test_other_workspaces_segments_are_not_touched(
    workspace, other_workspace, segments, django_capture_on_commit_callbacks
):
    theirs = Segment.objects.create(
        workspace=other_workspace.workspace,
        name="repeat buyers",
        rules={"event": {"name": "Order Completed"}},
        dependencies={"event_names": ["Order Completed"]},
    )
    with django_capture_on_commit_callbacks(execute=True):
        send(workspace.workspace, user_id="ann", name="Order Completed")
    assert current(theirs) == set()


def test_beat_refreshes_time_dependent_segments_only(workspace, django_capture_on_commit_callbacks):
    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    EventFactory(profile=ann, timestamp=old)
    with django_capture_on_commit_callbacks(execute=True):
        windowed = save_segment(
            workspace=ws,
            name="bought this week",
            rules={"event": {"name": "Order Completed", "within_days": 7}},
        )
        ever = save_segment(
            workspace=ws, name="ever bought", rules={"event": {"name": "Order Completed"}}
        )
    # Membership left stale (as if the window had slid since the last refresh).
    SegmentMembership.objects.create(segment=windowed, profile=ann, entered_at=old)
    SegmentMembership.objects.filter(segment=ever).update(exited_at=old)

    assert tasks.refresh_time_dependent_segments() == 1
    assert current(windowed) == set()
    assert current(ever) == set()  # not time-dependent: left to the real-time path
    membership.refresh(ever)
    assert current(ever) == {ann.pk}


@pytest.mark.django_db(transaction=True)
def test_concurrent_rechecks_of_one_profile_record_one_stay(workspace):
    from django.db import connection

    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws)
    EventFactory(profile=ann, timestamp=dt.datetime.now(dt.UTC))
    segment = Segment.objects.create(
        workspace=ws, name="buyers", rules={"event": {"name": "Order Completed"}}
    )
    barrier, errors = threading.Barrier(4), []

    def recheck():
        try:
            barrier.wait(timeout=5)
            membership.refresh(segment, profile_ids=[ann.pk])
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=recheck) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    assert current(segment) == {ann.pk}
    assert Event.objects.filter(profile=ann, name="segment_entered").count() == 1


def test_entering_a_segment_rechecks_the_segments_that_refer_to_it(
    workspace, segments, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    _, pro, _ = segments
    with django_capture_on_commit_callbacks(execute=True):
        pro_buyers = save_segment(
            workspace=ws,
            name="pro buyers",
            rules={"and": [{"segment": {"id": pro.pk}}, {"event": {"name": "Order Completed"}}]},
        )
        pro_fans = save_segment(
            workspace=ws, name="pro fans", rules={"segment": {"id": pro_buyers.pk}}
        )
        send(ws, user_id="ann", name="Order Completed")
    ann = profile_of(ws, "user_id", "ann")
    assert current(pro_buyers) == set()

    # No periodic refresh runs: the trait change reaches both levels at once.
    with django_capture_on_commit_callbacks(execute=True):
        send(ws, "identify", user_id="ann", traits={"plan": "pro"})
    assert current(pro) == current(pro_buyers) == current(pro_fans) == {ann.pk}
    with django_capture_on_commit_callbacks(execute=True):
        send(ws, "identify", user_id="ann", traits={"plan": "free"})
    assert current(pro) == current(pro_buyers) == current(pro_fans) == set()
    assert Event.objects.filter(profile=ann, name="segment_exited").count() == 3
