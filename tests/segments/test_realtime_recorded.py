"""Segments re-check on events every writer records, not only on processed
ones: the message timeline's signals and segment membership changes."""

import pytest

from engage.messaging import timeline
from engage.segments import membership
from engage.segments.models import Segment, SegmentMembership
from engage.segments.services import save_segment
from tests.customer_factories import ProfileFactory
from tests.identity_helpers import profile_of, send

pytestmark = pytest.mark.django_db


def current(segment) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).values_list(
            "profile_id", flat=True
        )
    )


def saved(workspace, capture, name, rules, kind=Segment.DYNAMIC):
    with capture(execute=True):
        return save_segment(workspace=workspace, name=name, rules=rules, kind=kind)


def test_a_segment_on_an_email_open_gains_the_customer_once_the_open_is_recorded(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    openers = saved(
        ws, django_capture_on_commit_callbacks, "openers", {"event": {"name": "Email Opened"}}
    )
    ann = ProfileFactory(workspace=ws)

    with django_capture_on_commit_callbacks(execute=True):
        timeline.record_event(
            profile=ann,
            name=timeline.event_name("Email", "opened"),
            key="open:1",
            properties={},
            channel="email",
        )

    assert current(openers) == {ann.pk}


def test_segments_referring_to_a_refreshed_segment_gain_its_new_members(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    pro = saved(
        ws,
        django_capture_on_commit_callbacks,
        "pro",
        {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
    )
    of_pro = saved(ws, django_capture_on_commit_callbacks, "of pro", {"segment": {"id": pro.pk}})
    entered = saved(
        ws,
        django_capture_on_commit_callbacks,
        "entered anything",
        {"event": {"name": "segment_entered"}},
    )
    assert current(pro) == {ann.pk}
    bob = ProfileFactory(workspace=ws, traits={"plan": "pro"})

    # A full refresh (the periodic one, a save) is not a re-check of
    # referring segments: the membership event it records is.
    with django_capture_on_commit_callbacks(execute=True):
        membership.refresh(pro)

    assert current(pro) == {ann.pk, bob.pk}
    assert current(of_pro) == {ann.pk, bob.pk}
    assert current(entered) == {ann.pk, bob.pk}


def test_a_static_segments_new_members_reach_the_segments_referring_to_it(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    vip = saved(ws, django_capture_on_commit_callbacks, "vip", None, kind=Segment.STATIC)
    of_vip = saved(ws, django_capture_on_commit_callbacks, "of vip", {"segment": {"id": vip.pk}})
    ann = ProfileFactory(workspace=ws)

    with django_capture_on_commit_callbacks(execute=True):
        membership.add_members(vip, [ann.pk])

    assert current(of_vip) == {ann.pk}


def test_a_client_event_named_like_a_membership_event_is_processed_like_any_other(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    entered = saved(
        ws,
        django_capture_on_commit_callbacks,
        "entered anything",
        {"event": {"name": "segment_entered"}},
    )
    with django_capture_on_commit_callbacks(execute=True):
        send(ws, user_id="ann", name="segment_entered", message_id="segment_entered:not-ours")

    assert current(entered) == {profile_of(ws, "user_id", "ann").pk}
