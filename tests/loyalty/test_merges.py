"""Loyalty follows customers: a merge combines accounts, a split gives back
the points of the events each profile brought."""

import pytest

from engage.loyalty.models import LoyaltyAccount, PointsMovement
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import ProfileMerge
from tests.customer_factories import ProfileFactory

from .helpers import account, make_programme, movement_sum, record

pytestmark = pytest.mark.django_db

TIERS = [{"name": "silver", "rank": 1, "threshold": 100}]


@pytest.fixture
def two_members(workspace):
    """Ada with 60 points from an order and Bob with 70, neither silver yet."""
    ws = workspace.workspace
    make_programme(ws, tiers=TIERS)
    ada, bob = ProfileFactory.create_batch(2, workspace=ws)
    record(ada, message_id="o-ada", revenue=60)
    record(bob, message_id="o-bob", revenue=70)
    LoyaltyAccount.objects.filter(profile=bob).update(external_id="L-bob")
    return ada, bob


def test_a_merge_sums_the_balances_and_recomputes_the_tier(two_members):
    ada, bob = two_members

    merge_profiles(survivor=ada, merged=bob, reason=ProfileMerge.IDENTIFY, detail="test")

    assert not LoyaltyAccount.objects.filter(profile=bob).exists()
    merged = account(ada)
    assert (merged.points, merged.tier, merged.external_id) == (130, "silver", "L-bob")
    assert merged.points == movement_sum(ada)
    assert PointsMovement.objects.filter(profile=ada).count() == 2


def test_a_split_gives_back_the_points_of_the_events_each_brought(two_members):
    ada, bob = two_members
    merge = merge_profiles(survivor=ada, merged=bob, reason=ProfileMerge.IDENTIFY, detail="t")
    record(ada, message_id="o-after", revenue=5)  # earned by the merged customer: stays

    split_merge(merge=merge, by="test")

    assert (account(ada).points, account(bob).points) == (65, 70)
    assert account(ada).points == movement_sum(ada)
    assert account(bob).points == movement_sum(bob)
    assert account(bob).tier == "" and account(ada).tier == ""
    back = PointsMovement.objects.get(profile=bob)
    assert back.event_id is not None and back.origin_profile_id == bob.pk
