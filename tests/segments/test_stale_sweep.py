"""The sweep behind a segment's refresh: a dynamic segment saved while its
refresh could not be published (a broker outage) is filled by the next run,
and a segment whose refresh is running is left to it."""

import threading

import pytest
from django.db import connection, transaction

from engage.segments.membership import refresh_stale_segments
from engage.segments.models import Segment
from engage.segments.services import save_segment
from tests.customer_factories import ProfileFactory

PRO = {"trait": {"key": "plan", "op": "equals", "value": "pro"}}


@pytest.mark.django_db
def test_segments_saved_without_a_refresh_are_filled_by_the_sweep(workspace):
    ws = workspace.workspace
    pro = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    ProfileFactory(workspace=ws, traits={"plan": "free"})
    # No on-commit callbacks run in this test: like a publish lost to an outage.
    never = save_segment(workspace=ws, name="Pros", rules=PRO)
    static = save_segment(workspace=ws, name="VIPs", rules=None, kind=Segment.STATIC)

    assert refresh_stale_segments() == 1
    never.refresh_from_db()
    assert never.member_count == 1
    assert list(never.memberships.values_list("profile_id", flat=True)) == [pro.pk]
    static.refresh_from_db()
    assert static.refreshed_at is None  # static segments are uploaded, never refreshed

    assert refresh_stale_segments() == 0  # fresh now: nothing to do twice

    changed = save_segment(
        workspace=ws,
        segment=never,
        name="Free",
        rules={**PRO, "trait": {**PRO["trait"], "value": "free"}},
    )
    assert refresh_stale_segments() == 1  # changed rules, refresh lost again
    assert changed.memberships.filter(exited_at__isnull=True).get().profile_id != pro.pk


@pytest.mark.django_db(transaction=True)
def test_a_segment_being_refreshed_is_left_to_that_refresh(workspace):
    segment = save_segment(workspace=workspace.workspace, name="Pros", rules=PRO)
    Segment.objects.filter(pk=segment.pk).update(refreshed_at=None)  # its refresh was lost
    locked, release = threading.Event(), threading.Event()

    def refresh_in_progress():
        with transaction.atomic():
            Segment.objects.select_for_update().get(pk=segment.pk)
            locked.set()
            release.wait(10)
        connection.close()

    other = threading.Thread(target=refresh_in_progress)
    other.start()
    try:
        assert locked.wait(10)
        assert refresh_stale_segments() == 0
    finally:
        release.set()
        other.join()
    assert refresh_stale_segments() == 1
