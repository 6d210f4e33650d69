"""Answers follow the customer through merges and splits, and the nps, csat
and effort scoring models expose the latest answers to segments and
templates."""

from datetime import UTC, datetime

import pytest

from engage.feedback import services
from engage.feedback.models import Feedback
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import Profile, ProfileMerge
from engage.scoring.models import Score
from engage.scoring.services import compute_workspace

pytestmark = pytest.mark.django_db


def answer(profile, kind, score, day, comment=""):
    return services.record_answer(
        services.Answer(
            profile=profile,
            kind=kind,
            score=score,
            comment=comment,
            key=f"api:{profile.pk}:{kind}:{day}",
            source="api",
            answered_at=datetime(2026, 11, day, tzinfo=UTC),
        )
    )[0]


def test_a_merge_moves_answers_to_the_survivor_and_a_split_hands_them_back(workspace, customer):
    device = Profile.objects.create(workspace=workspace.workspace)
    mine = answer(customer, "nps", 9, 1)
    theirs = answer(device, "csat", 2, 2)

    merge = merge_profiles(survivor=customer, merged=device, reason=ProfileMerge.MANUAL)
    assert set(Feedback.objects.filter(profile=customer)) == {mine, theirs}

    split_merge(merge=merge, by="operator")
    assert list(Feedback.objects.filter(profile=customer)) == [mine]
    assert list(Feedback.objects.filter(profile_id=device.pk)) == [theirs]


def test_latest_answers_become_the_nps_csat_and_effort_scores(workspace, customer):
    other = Profile.objects.create(workspace=workspace.workspace)
    answer(customer, "nps", 10, 1)
    answer(customer, "nps", 5, 3)
    answer(customer, "csat", 4, 2)
    answer(other, "effort", 6, 2)
    answer(other, "nps", 8, 28)  # after the run's time

    compute_workspace(
        workspace.workspace,
        model_ids=["nps", "csat", "effort"],
        as_of=datetime(2026, 11, 20, tzinfo=UTC),
    )

    got = {
        (s.profile_id, s.model): (s.value, s.cell, s.components["answers"])
        for s in Score.objects.all()
    }
    assert got == {
        (customer.pk, "nps"): (5, "detractor", 2),
        (customer.pk, "csat"): (4, "satisfied", 1),
        (other.pk, "effort"): (6, "easy", 1),
    }
