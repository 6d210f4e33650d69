"""A refresh task acts only on a segment of the workspace it was queued for."""

import logging

import pytest

from engage.segments.models import Segment
from engage.segments.tasks import refresh_segment
from tests.customer_factories import ProfileFactory

pytestmark = pytest.mark.django_db

GOLD = {"trait": {"key": "plan", "op": "equals", "value": "gold"}}


@pytest.fixture
def their_segment(other_workspace):
    ws = other_workspace.workspace
    ProfileFactory(workspace=ws, traits={"plan": "gold"})
    return Segment.objects.create(workspace=ws, name="gold", kind=Segment.DYNAMIC, rules=GOLD)


def test_a_segment_of_another_workspace_is_left_alone(workspace, their_segment, caplog):
    with caplog.at_level(logging.WARNING, logger="engage.segments.tasks"):
        refresh_segment.apply(args=[their_segment.pk, workspace.workspace.pk])

    their_segment.refresh_from_db()
    assert their_segment.refreshed_at is None
    assert not their_segment.memberships.exists()
    assert f"segment {their_segment.pk} is not in workspace {workspace.workspace.pk}" in caplog.text


@pytest.mark.parametrize("with_workspace", [True, False], ids=["for-its-workspace", "old-task"])
def test_a_segment_of_its_own_workspace_is_refreshed(
    other_workspace, their_segment, with_workspace
):
    args = [their_segment.pk]
    if with_workspace:
        args.append(other_workspace.workspace.pk)

    refresh_segment.apply(args=args)

    their_segment.refresh_from_db()
    assert their_segment.refreshed_at is not None
    assert their_segment.memberships.count() == 1
