"""``update_traits``: the step writes traits as processing does (latest update
wins, null removes) and the segments reading them follow."""

import datetime as dt

import pytest

from engage.journeys import engine
from engage.journeys.nodes import update_traits
from engage.profiles.traits import stamp
from engage.segments.models import SegmentMembership
from engage.segments.services import save_segment
from tests.customer_factories import ProfileFactory

from .factories import live_journey
from .walking import T0, enroll, errors, ledger

DEFINITION = {
    "trigger": {"manual": True},
    "start": "tag",
    "nodes": {
        "tag": {
            "type": "update_traits",
            "traits": {"plan": "pro", "trial": None},
            "next": "done",
        },
        "done": {"type": "exit"},
    },
}


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"traits": {"plan": "pro", "trial": None}}, []),
        ({}, ["nodes.step.traits: is required"]),
        (
            {"traits": {}},
            ["nodes.step.traits: must be a non-empty object of trait names to values"],
        ),
        (
            {"traits": ["plan"]},
            ["nodes.step.traits: must be a non-empty object of trait names to values"],
        ),
        ({"traits": {" ": 1}}, ["nodes.step.traits. : a trait name is 1 to 200 characters"]),
    ],
    ids=["valid", "missing", "empty", "list", "blank-name"],
)
def test_validation_names_the_field(node, expected):
    assert errors(update_traits, node) == expected


@pytest.mark.django_db
def test_traits_are_set_and_removed_and_segments_follow(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    with django_capture_on_commit_callbacks(execute=True):
        pro = save_segment(
            workspace=ws,
            name="pro",
            rules={"trait": {"key": "plan", "op": "equals", "value": "pro"}},
        )
    later = stamp(T0 + dt.timedelta(hours=1))
    ann = ProfileFactory(workspace=ws, traits={"plan": "free", "trial": True, "city": "Oslo"})
    # Bob's plan came from an event newer than the step: it stands.
    bob = ProfileFactory(
        workspace=ws, traits={"plan": "enterprise"}, trait_updated_at={"plan": later}
    )
    journey = live_journey(ws, DEFINITION)
    enrollments = enroll(journey, [ann, bob])

    with django_capture_on_commit_callbacks(execute=True):
        engine.advance(now=T0)

    ann.refresh_from_db()
    bob.refresh_from_db()
    assert ann.traits == {"plan": "pro", "city": "Oslo"}
    assert ann.trait_updated_at["plan"] == stamp(T0)
    assert bob.traits == {"plan": "enterprise"}
    assert set(
        SegmentMembership.objects.filter(segment=pro, exited_at__isnull=True).values_list(
            "profile_id", flat=True
        )
    ) == {ann.pk}
    assert [ledger(e)[0] for e in enrollments] == [
        ("update", "changed", "tag"),
        ("update", "unchanged", "tag"),
    ]
