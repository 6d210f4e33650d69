import datetime as dt

import pytest

from engage.messaging import pauses
from engage.messaging.models import MarketingPause
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import Profile, ProfileMerge

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def paused(profile, now=NOW):
    return pauses.in_force([profile.pk], now).get(profile.pk)


def pause(workspace, profile, days, reason=MarketingPause.DETRACTOR, at=NOW, **kwargs):
    return pauses.pause_marketing(
        workspace_id=workspace.workspace.pk,
        profile_ids=[profile.pk],
        reason=reason,
        until=at + days * DAY,
        at=at,
        **kwargs,
    )


def test_a_pause_extends_but_never_shortens_and_ends(workspace, customer):
    assert pause(workspace, customer, 30, detail="NPS 2: slow delivery") == 1
    pause(workspace, customer, 7, at=NOW + DAY, detail="NPS 3")
    assert paused(customer) == pauses.Pause(
        "detractor_pause", NOW + 30 * DAY, "NPS 2: slow delivery"
    )
    pause(workspace, customer, 40, at=NOW + DAY, detail="NPS 1")
    assert paused(customer).until == NOW + 41 * DAY
    assert MarketingPause.objects.count() == 1

    pauses.end_pause(
        workspace_id=workspace.workspace.pk,
        profile_ids=[customer.pk],
        reason=MarketingPause.DETRACTOR,
        at=NOW + 2 * DAY,
    )
    assert paused(customer, NOW + 3 * DAY) is None
    # A new pause after the end starts afresh: the ended one's length is gone.
    pause(workspace, customer, 5, at=NOW + 4 * DAY, detail="NPS 0")
    assert paused(customer, NOW + 4 * DAY) == pauses.Pause(
        "detractor_pause", NOW + 9 * DAY, "NPS 0"
    )


def test_an_end_applied_before_an_older_start_keeps_the_customer_unpaused(workspace, customer):
    ws = workspace.workspace.pk
    pauses.end_pause(
        workspace_id=ws, profile_ids=[customer.pk], reason="support_case", at=NOW + DAY
    )
    pause(workspace, customer, 30, reason="support_case", at=NOW)
    assert paused(customer, NOW + 2 * DAY) is None
    # An end older than the start it meets leaves the pause on.
    pause(workspace, customer, 30, reason="support_case", at=NOW + 3 * DAY)
    pauses.end_pause(
        workspace_id=ws, profile_ids=[customer.pk], reason="support_case", at=NOW + 2 * DAY
    )
    assert paused(customer, NOW + 4 * DAY).reason == "support_case"


def test_bad_pauses_are_refused_naming_the_field(workspace, customer):
    with pytest.raises(ValueError, match=r"^reason: "):
        pause(workspace, customer, 3, reason="angry")
    with pytest.raises(ValueError, match=r"^until: "):
        pause(workspace, customer, 0)
    assert not MarketingPause.objects.exists()


def test_a_merge_keeps_the_longest_pause_and_a_split_hands_back_its_own(workspace, customer):
    other = Profile.objects.create(workspace=workspace.workspace)
    pause(workspace, customer, 3, detail="short")
    pause(workspace, other, 20, detail="long")

    merge = merge_profiles(survivor=customer, merged=other, reason=ProfileMerge.MANUAL)
    assert paused(customer) == pauses.Pause("detractor_pause", NOW + 20 * DAY, "long")

    split_merge(merge=merge, by="operator")
    assert paused(customer).detail == "short"
    assert paused(Profile.objects.get(pk=other.pk)).detail == "long"
