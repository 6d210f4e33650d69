"""Weekly history, trend, the profile scores API and its tenant isolation."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from engage.privacy.services import erase_profile
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import ProfileMerge
from engage.scoring.models import Score, ScoreHistory

from .helpers import AS_OF, compute, customer, did, scores

NEXT_WEEK = AS_OF + dt.timedelta(days=7)


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def quiet(workspace):
    """A customer last seen 10 days before the first computation."""
    person = customer(workspace.workspace)
    did(person, "Page Viewed", 10)
    return person


def test_one_history_row_per_week_and_the_trend(workspace, quiet):
    ws = workspace.workspace
    compute(ws, "dormancy")
    compute(ws, "dormancy", as_of=AS_OF + dt.timedelta(days=2))  # same week: replaces the row
    compute(ws, "dormancy", as_of=NEXT_WEEK)

    weeks = list(
        ScoreHistory.objects.filter(profile=quiet, model="dormancy")
        .order_by("week")
        .values_list("week", "value", "cell")
    )
    assert weeks == [(dt.date(2025, 6, 2), 12, "active"), (dt.date(2025, 6, 9), 17, "active")]

    response = client_for(workspace.secret_key).get(f"/api/profiles/{quiet.pk}/scores")

    assert response.status_code == 200, response.content
    [score] = response.json()["scores"]
    assert score["model"] == "dormancy"
    assert score["value"] == 17
    assert score["previous_value"] == 12
    assert score["trend"] == "up"
    assert score["components"]["days_inactive"] == 17
    assert [row["week"] for row in score["history"]] == ["2025-06-09", "2025-06-02"]


def test_first_week_has_no_trend(workspace, quiet):
    compute(workspace.workspace, "dormancy")

    body = client_for(workspace.secret_key).get(f"/api/profiles/{quiet.pk}/scores").json()

    assert body["profile_id"] == quiet.pk
    assert body["scores"][0]["trend"] is None
    assert body["scores"][0]["previous_value"] is None


def test_other_workspace_key_cannot_read_scores(workspace, other_workspace, quiet):
    compute(workspace.workspace, "dormancy")

    response = client_for(other_workspace.secret_key).get(f"/api/profiles/{quiet.pk}/scores")

    assert response.status_code == 404
    assert response.json()["detail"].startswith("id: no profile")


def test_write_key_and_no_key_are_refused(workspace, quiet):
    assert (
        client_for(workspace.write_key).get(f"/api/profiles/{quiet.pk}/scores").status_code == 403
    )
    assert APIClient().get(f"/api/profiles/{quiet.pk}/scores").status_code == 401


def test_scores_follow_a_merge(workspace):
    ws = workspace.workspace
    survivor, merged = customer(ws), customer(ws)
    did(survivor, "Page Viewed", 3)
    did(merged, "Order Completed", 4, revenue=20)
    compute(ws, "dormancy")
    compute(ws, "rfm")
    assert Score.objects.filter(profile=merged).count() == 2

    merge_profiles(survivor=survivor, merged=merged, reason=ProfileMerge.MANUAL)

    held = dict(Score.objects.filter(profile=survivor).values_list("model", "value"))
    # The survivor keeps its own dormancy and takes the RFM score only the merged one had.
    assert held == {"dormancy": 3, "rfm": 111}
    assert not Score.objects.filter(profile=merged).exists()
    assert set(ScoreHistory.objects.filter(profile=survivor).values_list("model", "value")) == {
        ("dormancy", 3),
        ("rfm", 111),
    }
    # The merged id still finds the customer's scores.
    body = client_for(workspace.secret_key).get(f"/api/profiles/{merged.pk}/scores").json()
    assert body["profile_id"] == survivor.pk
    assert [s["model"] for s in body["scores"]] == ["dormancy", "rfm"]


def test_erasure_deletes_scores_and_history(workspace, quiet):
    other = customer(workspace.workspace)
    did(other, "Page Viewed", 1)
    compute(workspace.workspace, "dormancy")

    erase_profile(profile=quiet, requested_by="test")

    assert not Score.objects.filter(profile_id=quiet.pk).exists()
    assert not ScoreHistory.objects.filter(profile_id=quiet.pk).exists()
    assert Score.objects.filter(profile=other).exists()


def test_a_split_scores_both_customers_again(workspace, django_capture_on_commit_callbacks):
    ws = workspace.workspace
    survivor, merged = customer(ws), customer(ws)
    did(survivor, "Order Completed", 2, revenue=10)
    did(merged, "Order Completed", 4, revenue=20)
    merge = merge_profiles(survivor=survivor, merged=merged, reason=ProfileMerge.MANUAL)
    compute(ws, "rfm")
    assert not Score.objects.filter(profile=merged).exists()
    assert scores(ws, "rfm")[survivor.pk].components["frequency"] == 2

    with django_capture_on_commit_callbacks(execute=True):
        split_merge(merge=merge, by="operator")

    rfm = scores(ws, "rfm")
    assert rfm[merged.pk].components["frequency"] == 1
    assert rfm[survivor.pk].components["frequency"] == 1
