"""Merging customers and splitting a merge again."""

import datetime as dt

import pytest

from engage.events.models import Event
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import Profile, ProfileMerge
from engage.profiles.signals import profiles_merged, profiles_split
from tests.identity_helpers import T0, identities, send


def test_merge_moves_everything_and_records_what_a_split_needs(workspace):
    ws = workspace.workspace
    survivor = send(ws, "identify", user_id="u1", traits={"plan": "pro"}, at=T0).profile
    send(ws, "track", user_id="u1", at=T0 + dt.timedelta(days=1))
    merged = send(
        ws,
        "identify",
        anonymous_id="a1",
        traits={"plan": "free", "city": "Oslo"},
        at=T0 + dt.timedelta(days=2),
    ).profile
    send(ws, "track", anonymous_id="a1", at=T0 - dt.timedelta(days=1))
    received = []
    profiles_merged.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t-merge")
    try:
        merge = merge_profiles(
            survivor=survivor, merged=merged, reason="manual", detail="same person", message_id=""
        )
    finally:
        profiles_merged.disconnect(dispatch_uid="t-merge")

    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert merged.merged_into == survivor
    assert Event.objects.filter(profile=survivor).count() == 4
    assert identities(survivor) == {("user_id", "u1"), ("anonymous_id", "a1")}
    # The merged profile heard about both traits later.
    assert survivor.traits == {"plan": "free", "city": "Oslo"}
    assert (survivor.first_seen_at, survivor.last_seen_at) == (
        T0 - dt.timedelta(days=1),
        T0 + dt.timedelta(days=2),
    )
    assert merge.identity_ids == list(
        survivor.identities.filter(kind="anonymous_id").values_list("pk", flat=True)
    )
    assert merge.traits_taken["plan"]["previous"] == "pro"
    assert "previous" not in merge.traits_taken["city"]
    assert received == [
        {
            "signal": profiles_merged,
            "sender": ProfileMerge,
            "workspace": ws,
            "pairs": [(survivor.pk, merged.pk, merge.pk)],
        }
    ]


def test_merging_the_same_pair_twice_is_a_no_op(workspace):
    ws = workspace.workspace
    a = send(ws, user_id="u1").profile
    b = send(ws, anonymous_id="a1").profile
    assert merge_profiles(survivor=a, merged=b, reason="manual") is not None
    assert merge_profiles(survivor=a, merged=b, reason="manual") is None
    assert merge_profiles(survivor=b, merged=a, reason="manual") is None
    assert ProfileMerge.objects.count() == 1


def test_merge_rejects_an_unknown_reason_and_other_workspaces(workspace, other_workspace):
    a = send(workspace.workspace, user_id="u1").profile
    b = send(workspace.workspace, user_id="u2").profile
    c = send(other_workspace.workspace, user_id="u1").profile
    with pytest.raises(ValueError, match="reason"):
        merge_profiles(survivor=a, merged=b, reason="because")
    with pytest.raises(ValueError, match="workspaces"):
        merge_profiles(survivor=a, merged=c, reason="manual")


def test_split_restores_identities_events_and_traits_and_is_recorded(workspace):
    ws = workspace.workspace
    send(ws, "identify", user_id="u1", traits={"plan": "pro", "name": "Ada"}, at=T0)
    send(
        ws,
        "identify",
        anonymous_id="tablet",
        traits={"plan": "free", "city": "Oslo"},
        at=T0 + dt.timedelta(hours=1),
    )
    send(ws, "track", anonymous_id="tablet", name="Browsed", at=T0 + dt.timedelta(hours=2))
    customer = send(
        ws, "identify", user_id="u1", anonymous_id="tablet", at=T0 + dt.timedelta(hours=3)
    ).profile
    merge = ProfileMerge.objects.get()
    assert customer.traits == {"plan": "free", "name": "Ada", "city": "Oslo"}
    after_merge = send(
        ws, "track", anonymous_id="tablet", name="Bought", at=T0 + dt.timedelta(hours=4)
    )
    assert after_merge.profile == customer

    received = []
    profiles_split.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t-split")
    try:
        restored = split_merge(merge=merge, by="ops@example.com")
    finally:
        profiles_split.disconnect(dispatch_uid="t-split")

    customer.refresh_from_db()
    assert restored.pk == merge.merged_id
    assert restored.merged_into is None
    assert identities(restored) == {("anonymous_id", "tablet")}
    assert identities(customer) == {("user_id", "u1")}
    assert set(Event.objects.filter(profile=restored).values_list("name", flat=True)) == {
        "",
        "Browsed",
    }
    # The event that arrived after the merge stays with the survivor.
    assert set(Event.objects.filter(profile=customer).values_list("name", flat=True)) == {
        "",
        "Bought",
    }
    assert customer.traits == {"plan": "pro", "name": "Ada"}
    assert restored.traits == {"plan": "free", "city": "Oslo"}
    assert (restored.first_seen_at, restored.last_seen_at) == (
        T0 + dt.timedelta(hours=1),
        T0 + dt.timedelta(hours=2),
    )
    assert (customer.first_seen_at, customer.last_seen_at) == (T0, T0 + dt.timedelta(hours=4))
    merge.refresh_from_db()
    assert merge.split_by == "ops@example.com" and merge.split_at is not None
    assert received[0]["pairs"] == [(customer.pk, restored.pk, merge.pk)]


def test_split_keeps_a_trait_changed_since_the_merge(workspace):
    ws = workspace.workspace
    send(ws, "identify", user_id="u1", traits={"plan": "pro"}, at=T0)
    send(ws, "identify", anonymous_id="a1", traits={"plan": "free"}, at=T0 + dt.timedelta(hours=1))
    send(ws, "identify", user_id="u1", anonymous_id="a1", at=T0 + dt.timedelta(hours=2))
    send(ws, "identify", user_id="u1", traits={"plan": "team"}, at=T0 + dt.timedelta(hours=3))

    split_merge(merge=ProfileMerge.objects.get(), by="ops")

    survivor = Profile.objects.get(identities__value="u1")
    assert survivor.traits == {"plan": "team"}


def test_splitting_twice_is_refused(workspace):
    ws = workspace.workspace
    send(ws, "identify", user_id="u1", anonymous_id="a1")
    send(ws, anonymous_id="a2")
    send(ws, "identify", user_id="u1", anonymous_id="a2")
    merge = ProfileMerge.objects.get()
    split_merge(merge=merge, by="ops")
    with pytest.raises(ValueError, match=f"merge {merge.pk} was already split .* by ops"):
        split_merge(merge=merge, by="someone else")
    merge.refresh_from_db()
    assert merge.split_by == "ops"


def test_after_a_split_new_events_go_to_the_restored_profile(workspace):
    ws = workspace.workspace
    send(ws, anonymous_id="a1")
    send(ws, "identify", user_id="u1", anonymous_id="a2")
    send(ws, "identify", user_id="u1", anonymous_id="a1")
    restored = split_merge(merge=ProfileMerge.objects.get(), by="ops")
    assert identities(restored) == {("user_id", "u1"), ("anonymous_id", "a2")}
    assert send(ws, user_id="u1").profile == restored
    assert send(ws, anonymous_id="a1").profile != restored


def test_chained_merges_then_splits_in_either_order(workspace):
    """C merges into B, then B into A: merged_into stays one hop; splits undo each step."""
    ws = workspace.workspace
    a = send(ws, user_id="A", name="a-event").profile
    b = send(ws, anonymous_id="B", name="b-event").profile
    c = send(ws, anonymous_id="C", name="c-event").profile
    bc = merge_profiles(survivor=b, merged=c, reason="manual")
    ab = merge_profiles(survivor=a, merged=b, reason="manual")
    assert set(Profile.objects.filter(merged_into=a).values_list("pk", flat=True)) == {b.pk, c.pk}
    assert Event.objects.filter(profile=a).count() == 3

    # Undo the later merge first: B comes back with C inside it.
    restored_b = split_merge(merge=ab, by="ops")
    assert restored_b == b
    assert identities(b) == {("anonymous_id", "B"), ("anonymous_id", "C")}
    assert Profile.objects.get(pk=c.pk).merged_into_id == b.pk
    assert set(Event.objects.filter(profile=b).values_list("name", flat=True)) == {
        "b-event",
        "c-event",
    }
    assert identities(a) == {("user_id", "A")}

    split_merge(merge=bc, by="ops")
    assert identities(c) == {("anonymous_id", "C")}
    assert list(Event.objects.filter(profile=c).values_list("name", flat=True)) == ["c-event"]
    assert Profile.objects.filter(merged_into__isnull=False).count() == 0


def test_split_of_an_earlier_merge_after_the_survivor_was_merged_again(workspace):
    ws = workspace.workspace
    a = send(ws, user_id="A", name="a-event").profile
    b = send(ws, anonymous_id="B", name="b-event").profile
    c = send(ws, anonymous_id="C", name="c-event").profile
    bc = merge_profiles(survivor=b, merged=c, reason="manual")
    merge_profiles(survivor=a, merged=b, reason="manual")

    # The B←C merge is undone while B lives inside A: C comes back from A.
    restored = split_merge(merge=bc, by="ops")
    assert restored == c
    assert Profile.objects.get(pk=c.pk).merged_into is None
    assert identities(c) == {("anonymous_id", "C")}
    assert list(Event.objects.filter(profile=c).values_list("name", flat=True)) == ["c-event"]
    assert identities(a) == {("user_id", "A"), ("anonymous_id", "B")}
    assert set(Event.objects.filter(profile=a).values_list("name", flat=True)) == {
        "a-event",
        "b-event",
    }
