"""Loyalty over HTTP: a customer's state and history, redeeming, adjusting, importing."""

import pytest
from rest_framework.test import APIClient

from engage.loyalty.models import LoyaltyAccount, PointsMovement
from tests.customer_factories import IdentityFactory, ProfileFactory

from .helpers import account, make_programme, movement_sum, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(workspace) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}")
    return client


@pytest.fixture
def ada(workspace):
    """A member with 100 points from one order."""
    make_programme(workspace.workspace, tiers=[{"name": "silver", "rank": 1, "threshold": 50}])
    profile = ProfileFactory(workspace=workspace.workspace)
    record(profile, message_id="o-1", revenue=100)
    return profile


def movements_url(profile) -> str:
    return f"/api/loyalty/{profile.pk}/movements"


def test_redeeming_more_than_the_balance_is_refused_naming_points(api, ada):
    answer = api.post(movements_url(ada), {"kind": "redeem", "points": 101}, format="json")

    assert answer.status_code == 409
    assert answer.json()["errors"] == {"points": ["more than the balance (100 points)"]}
    assert account(ada).points == 100
    assert PointsMovement.objects.filter(kind=PointsMovement.REDEEMED).count() == 0


def test_a_redemption_takes_points_once_per_reference(api, ada):
    body = {"kind": "redeem", "points": 30, "reason": "coffee", "reference": "till-7"}
    first = api.post(movements_url(ada), body, format="json")
    retry = api.post(movements_url(ada), body, format="json")

    assert first.status_code == 201
    assert first.json()["movement"]["points"] == -30
    assert first.json()["account"]["points"] == 70
    assert retry.status_code == 200
    assert retry.json()["movement"]["id"] == first.json()["movement"]["id"]
    other = api.post(movements_url(ada), {**body, "points": 40}, format="json")
    assert other.status_code == 409
    assert other.json()["errors"] == {"reference": ["already used for another movement"]}
    assert account(ada).points == 70 == movement_sum(ada)


def test_an_adjustment_adds_or_takes_points_but_not_below_zero(api, ada):
    added = api.post(movements_url(ada), {"kind": "adjust", "points": 25}, format="json")
    too_much = api.post(movements_url(ada), {"kind": "adjust", "points": -200}, format="json")

    assert added.status_code == 201
    assert too_much.status_code == 409
    assert account(ada).points == 125


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "spend", "points": 5}, "kind"),
        ({"kind": "redeem", "points": "5"}, "points"),
        ({"kind": "redeem", "points": 0}, "points"),
        ({"kind": "redeem", "points": -5}, "points"),
        ({"kind": "adjust", "points": 0}, "points"),
        ({"kind": "redeem"}, "points"),
    ],
    ids=[
        "unknown-kind",
        "points-as-text",
        "redeem-zero",
        "redeem-negative",
        "adjust-zero",
        "no-points",
    ],
)
def test_a_bad_movement_is_refused_naming_the_field(api, ada, body, field):
    answer = api.post(movements_url(ada), body, format="json")

    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == [field]
    assert account(ada).points == 100


def test_the_profile_shows_state_and_pages_its_history(api, ada):
    for _ in range(3):
        api.post(movements_url(ada), {"kind": "redeem", "points": 1}, format="json")

    first = api.get(f"/api/profiles/{ada.pk}/loyalty", {"limit": 2}).json()
    second = api.get(first["history"]["next"]).json()

    assert (first["programme"], first["tier"], first["points"]) == ("Club", "silver", 97)
    assert [m["kind"] for m in first["history"]["results"]] == ["redeemed", "redeemed"]
    assert [m["kind"] for m in second["history"]["results"]] == ["redeemed", "earned"]
    assert second["history"]["results"][1]["event_id"] is not None
    assert second["history"]["next"] is None


def test_another_workspaces_customer_is_not_found(api, ada, other_workspace):
    stranger = ProfileFactory(workspace=other_workspace.workspace)

    assert api.get(f"/api/profiles/{stranger.pk}/loyalty").status_code == 404
    answer = api.post(movements_url(stranger), {"kind": "adjust", "points": 5}, format="json")
    assert answer.status_code == 404


def test_an_import_sets_balances_and_tiers_and_a_second_run_changes_nothing(api, ada, workspace):
    IdentityFactory(profile=ada, kind="loyalty", value="L-1")
    bob = IdentityFactory(profile__workspace=workspace.workspace, kind="email", value="bob@x.io")
    rows = [
        {"external_id": "L-1", "tier": "silver", "points": 400},
        {"identifier": {"kind": "email", "value": "Bob@X.io"}, "points": 60},
    ]

    first = api.post("/api/loyalty/accounts/import", {"accounts": rows}, format="json")
    again = api.post("/api/loyalty/accounts/import", {"accounts": rows}, format="json")

    assert first.json() == {"accounts": 2, "adjusted": 2, "tiers_changed": 1}
    assert again.json() == {"accounts": 2, "adjusted": 0, "tiers_changed": 0}
    assert (account(ada).points, account(ada).external_id) == (400, "L-1")
    assert account(bob.profile).points == 60 == movement_sum(bob.profile)
    assert account(bob.profile).tier == "silver"  # no tier given: its points earn one
    adjusted = PointsMovement.objects.get(profile=ada, kind=PointsMovement.ADJUSTED)
    assert adjusted.points == 300


def test_an_import_with_a_bad_row_names_it_and_applies_nothing(api, ada):
    IdentityFactory(profile=ada, kind="loyalty", value="L-1")
    rows = [
        {"external_id": "L-1", "points": 400},
        {"external_id": "L-404", "points": 5},
        {"external_id": "L-1", "tier": "platinum", "points": 1},
        {"points": 1},
    ]

    answer = api.post("/api/loyalty/accounts/import", {"accounts": rows}, format="json")

    assert answer.status_code == 400
    assert answer.json()["errors"] == {
        "accounts[1].external_id": ["no customer with this identifier in this workspace"],
        "accounts[2].tier": ["must be one of: silver"],
        "accounts[2]": ["the same customer as an earlier row"],
        "accounts[3]": ["give external_id or identifier, not both"],
    }
    assert account(ada).points == 100
    assert LoyaltyAccount.objects.count() == 1
