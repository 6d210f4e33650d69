"""A processed batch re-checks each segment it could change once, even when
both its traits and its event names concern that segment, and re-checks the
survivors of its merges for the segments on events; a re-check records a
changed segment's size in two statements."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.events.processing import process_pending
from engage.profiles.models import Profile
from engage.segments import membership
from engage.segments.models import SegmentMembership, SegmentSize
from engage.segments.services import save_segment
from tests.customer_factories import ProfileFactory
from tests.identity_helpers import pending_event, profile_of, send

pytestmark = pytest.mark.django_db

PRO_BUYERS = {
    "and": [
        {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
        {"event": {"name": "Order Completed"}},
    ]
}


def refreshes(queries, segment) -> int:
    """The re-checks of ``segment`` among ``queries`` (each evaluates its
    member query once, among those of the other segments re-checked)."""
    return sum(q["sql"].count(f'AS "segment {segment.pk}"') for q in queries)


def test_a_batch_setting_a_trait_and_tracking_an_event_rechecks_their_segment_once(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    with django_capture_on_commit_callbacks(execute=True):
        pro_buyers = save_segment(workspace=ws, name="pro buyers", rules=PRO_BUYERS)
        plan_only = save_segment(
            workspace=ws,
            name="pro",
            rules={"trait": {"key": "plan", "op": "equals", "value": "pro"}},
        )
    pending_event(ws, "identify", user_id="ann", traits={"plan": "pro"})
    pending_event(ws, user_id="ann", name="Order Completed")
    pending_event(ws, "identify", user_id="bob", traits={"plan": "pro"})

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        process_pending()

    ann, bob = profile_of(ws, "user_id", "ann"), profile_of(ws, "user_id", "bob")
    current = SegmentMembership.objects.filter(exited_at__isnull=True)
    assert set(current.filter(segment=pro_buyers).values_list("profile_id", flat=True)) == {ann.pk}
    assert set(current.filter(segment=plan_only).values_list("profile_id", flat=True)) == {
        ann.pk,
        bob.pk,
    }
    assert refreshes(queries.captured_queries, pro_buyers) == 1
    assert refreshes(queries.captured_queries, plan_only) == 1


def test_a_recheck_records_the_count_and_todays_size_in_two_statements(workspace):
    ws = workspace.workspace
    pro = save_segment(
        workspace=ws, name="pro", rules={"trait": {"key": "plan", "op": "equals", "value": "pro"}}
    )
    ann = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    bob = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    sizes = SegmentSize.objects.filter(segment=pro)

    def recheck(profiles) -> int:
        with CaptureQueriesContext(connection) as queries:
            membership.refresh(pro, profile_ids=[p.pk for p in profiles])
        return sum(
            1
            for q in queries.captured_queries
            if '"segments_segment"' in q["sql"] or "segments_segmentsize" in q["sql"]
        )

    assert recheck([ann, bob]) == 2
    pro.refresh_from_db()
    assert pro.member_count == 2
    assert list(sizes.values_list("size", flat=True)) == [2]

    Profile.objects.filter(pk=ann.pk).update(traits={"plan": "free"})
    assert recheck([ann]) == 2
    pro.refresh_from_db()
    assert pro.member_count == 1
    assert list(sizes.values_list("size", flat=True)) == [1]  # today's row, overwritten


def test_a_merge_rechecks_the_survivor_for_the_events_it_gained(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    with django_capture_on_commit_callbacks(execute=True):
        browsers = save_segment(
            workspace=ws,
            name="two pages",
            rules={"event": {"name": "Page Viewed", "at_least": 2}},
        )
        send(ws, anonymous_id="laptop", name="Page Viewed")
        send(ws, anonymous_id="phone", name="Page Viewed")
    assert not SegmentMembership.objects.filter(segment=browsers).exists()

    # The batch tracks no page view: the survivor gained the other device's.
    pending_event(ws, "identify", user_id="ann", anonymous_id="laptop")
    pending_event(ws, "identify", user_id="ann", anonymous_id="phone")
    with django_capture_on_commit_callbacks(execute=True):
        process_pending()

    ann = profile_of(ws, "user_id", "ann")
    current = SegmentMembership.objects.filter(segment=browsers, exited_at__isnull=True)
    assert list(current.values_list("profile_id", flat=True)) == [ann.pk]
