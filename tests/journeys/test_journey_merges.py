"""Enrollments follow their customers: a merge keeps the older enrollment of a
journey and ends the other as merged, a split hands back what was first
written for the restored customer, and erasure leaves none."""

import datetime as dt

import pytest

from engage.journeys import entry
from engage.journeys.models import Enrollment
from engage.messaging.models import MessageDecision
from engage.privacy.services import erase_profile, export_profile
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import ProfileMerge
from tests.customer_factories import ProfileFactory

from .factories import live_journey
from .walking import T0

pytestmark = pytest.mark.django_db

DEFINITION = {
    "trigger": {"manual": True},
    "entry": {"reentry": "always"},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}


def enter(journey, profile, at) -> Enrollment:
    (enrollment,) = entry.enroll(journey=journey, profile_ids=[profile.pk], now=at).entered
    return enrollment


def where(enrollment) -> tuple[int, str]:
    enrollment = Enrollment.objects.get(pk=enrollment.pk)
    return enrollment.profile_id, enrollment.end_reason


@pytest.fixture
def two_customers(workspace):
    """Ann and Bob both in the welcome journey (Bob first), Bob alone in the
    cart journey, and Bob's finished walk through the survey."""
    ws = workspace.workspace
    welcome = live_journey(ws, DEFINITION, name="welcome")
    cart = live_journey(ws, DEFINITION, name="cart")
    survey = live_journey(ws, DEFINITION, name="survey")
    ann, bob = ProfileFactory.create_batch(2, workspace=ws)
    enrollments = {
        "ann-welcome": enter(welcome, ann, T0 + dt.timedelta(days=1)),
        "bob-welcome": enter(welcome, bob, T0),
        "bob-cart": enter(cart, bob, T0),
        "bob-survey": enter(survey, bob, T0),
    }
    Enrollment.objects.filter(pk=enrollments["bob-survey"].pk).update(
        ended_at=T0 + dt.timedelta(hours=1), end_reason="completed"
    )
    return ann, bob, enrollments


def test_a_merge_keeps_the_older_enrollment_of_a_journey_and_moves_the_rest(two_customers):
    ann, bob, enrollments = two_customers

    merge_profiles(survivor=ann, merged=bob, reason=ProfileMerge.MANUAL)

    assert where(enrollments["bob-welcome"]) == (ann.pk, "")
    assert where(enrollments["ann-welcome"]) == (ann.pk, "merged")
    assert where(enrollments["bob-cart"]) == (ann.pk, "")
    assert where(enrollments["bob-survey"]) == (ann.pk, "completed")
    exit_row = MessageDecision.objects.get(
        enrollment_id=enrollments["ann-welcome"].pk, action="exit"
    )
    assert (exit_row.profile_id, exit_row.reason, exit_row.detail) == (
        ann.pk,
        "merged",
        f"kept enrollment {enrollments['bob-welcome'].pk}",
    )
    assert Enrollment.objects.filter(ended_at__isnull=True, profile=ann).count() == 2
    assert not Enrollment.objects.filter(profile=bob).exists()


def test_a_split_gives_the_restored_customer_back_the_enrollments_first_written_for_it(
    two_customers,
):
    ann, bob, enrollments = two_customers
    merge = merge_profiles(survivor=ann, merged=bob, reason=ProfileMerge.MANUAL)

    split_merge(merge=merge, by="operator")

    assert where(enrollments["bob-welcome"]) == (bob.pk, "")
    assert where(enrollments["bob-cart"]) == (bob.pk, "")
    assert where(enrollments["bob-survey"]) == (bob.pk, "completed")
    assert where(enrollments["ann-welcome"]) == (ann.pk, "merged")
    assert set(
        MessageDecision.objects.filter(enrollment_id=enrollments["bob-cart"].pk).values_list(
            "profile_id", flat=True
        )
    ) == {bob.pk}


def test_the_privacy_services_export_and_erase_the_customers_enrollments(two_customers):
    ann, bob, _ = two_customers
    merge_profiles(survivor=ann, merged=bob, reason=ProfileMerge.MANUAL)

    exported = export_profile(profile=ann, requested_by="dpo")
    erased = erase_profile(profile=ann, requested_by="dpo")

    assert len(exported["related"]["journeys.enrollment"]) == 4
    assert erased.tables["journeys.Enrollment"] == 4
    assert not Enrollment.objects.exists()
    assert not MessageDecision.objects.filter(source="journey").exists()
