"""Stored membership follows the rules: history rows, entry/exit events on the
timeline, daily sizes, static uploads and merges."""

import datetime as dt

import pytest

from engage.events.models import Event
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import Identity, ProfileMerge
from engage.segments import membership
from engage.segments.models import Segment, SegmentMembership, SegmentSize
from engage.segments.services import save_segment, upload_members
from engage.segments.validation import InvalidSegment
from tests.customer_factories import EventFactory, IdentityFactory, ProfileFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
RECENT_BUYERS = {"event": {"name": "Order Completed", "within_days": 7}}


def stays(segment):
    return list(
        SegmentMembership.objects.filter(segment=segment)
        .order_by("entered_at", "profile_id")
        .values_list("profile_id", "entered_at", "exited_at")
    )


def segment_events(profile):
    return list(
        Event.objects.filter(profile=profile, name__startswith="segment_")
        .order_by("timestamp", "id")
        .values_list("name", "timestamp", "properties")
    )


def test_refresh_records_entries_exits_events_and_sizes(workspace):
    ws = workspace.workspace
    ann, bob = ProfileFactory(workspace=ws), ProfileFactory(workspace=ws)
    EventFactory(profile=ann, timestamp=NOW - dt.timedelta(days=1))
    EventFactory(profile=bob, timestamp=NOW - dt.timedelta(days=5))
    segment = Segment.objects.create(workspace=ws, name="recent buyers", rules=RECENT_BUYERS)

    assert membership.refresh(segment, now=NOW) == membership.Change(entered=2, exited=0)
    later = NOW + dt.timedelta(days=3)  # bob's order is now 8 days old
    assert membership.refresh(segment, now=later) == membership.Change(entered=0, exited=1)
    assert membership.refresh(segment, now=later) == membership.Change(entered=0, exited=0)

    assert stays(segment) == [(ann.pk, NOW, None), (bob.pk, NOW, later)]
    props = {"segment_id": segment.pk, "segment_name": "recent buyers"}
    assert segment_events(bob) == [
        ("segment_entered", NOW, props),
        ("segment_exited", later, props),
    ]
    assert segment_events(ann) == [("segment_entered", NOW, props)]
    segment.refresh_from_db()
    assert segment.member_count == 1 and segment.refreshed_at == later
    assert list(SegmentSize.objects.filter(segment=segment).values_list("date", "size")) == [
        (later.date(), 1),
        (NOW.date(), 2),
    ]

    # bob buys again: a new stay, the old one stays in the history
    EventFactory(profile=bob, timestamp=later)
    membership.refresh(segment, now=later + dt.timedelta(hours=1))
    assert [s[0] for s in stays(segment)] == [ann.pk, bob.pk, bob.pk]
    assert [e[0] for e in segment_events(bob)] == [
        "segment_entered",
        "segment_exited",
        "segment_entered",
    ]


def test_refresh_of_some_profiles_leaves_the_others_alone(workspace):
    ws = workspace.workspace
    ann, bob = ProfileFactory(workspace=ws), ProfileFactory(workspace=ws)
    for p in (ann, bob):
        EventFactory(profile=p, timestamp=NOW - dt.timedelta(days=1))
    segment = Segment.objects.create(workspace=ws, name="s", rules=RECENT_BUYERS)
    change = membership.refresh(segment, now=NOW, profile_ids=[ann.pk])
    assert change == membership.Change(entered=1, exited=0)
    assert [s[0] for s in stays(segment)] == [ann.pk]
    segment.refresh_from_db()
    assert segment.member_count == 1


def test_save_validates_and_fills_the_segment_on_commit(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    buyer = ProfileFactory(workspace=ws)
    EventFactory(profile=buyer, timestamp=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    with pytest.raises(InvalidSegment) as caught:
        save_segment(workspace=ws, name="", rules={"event": {"name": "X", "within_days": 0}})
    assert caught.value.errors == [
        "name: must be 1 to 200 characters",
        "rules.event.within_days: must be a positive integer (at most 36600)",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        segment = save_segment(workspace=ws, name="buyers", rules=RECENT_BUYERS)
    assert segment.dependencies == {
        "event_names": ["Order Completed"],
        "trait_keys": [],
        "profile_data": False,
        "time_dependent": True,
    }
    assert [s[0] for s in stays(segment)] == [buyer.pk]
    with pytest.raises(InvalidSegment, match="name: a segment named 'buyers' already exists"):
        save_segment(workspace=ws, name="buyers", rules=RECENT_BUYERS)


def test_static_upload_matches_normalized_identifiers(workspace, other_workspace):
    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws)
    IdentityFactory(profile=ann, kind=Identity.EMAIL, value="ann@example.com")
    bob = ProfileFactory(workspace=ws)
    IdentityFactory(profile=bob, kind=Identity.USER_ID, value="u-bob")
    stranger = ProfileFactory(workspace=other_workspace.workspace)
    IdentityFactory(profile=stranger, kind=Identity.USER_ID, value="u-stranger")
    segment = save_segment(workspace=ws, name="vip list", rules=None, kind=Segment.STATIC)

    result = upload_members(
        segment=segment,
        identifiers=[
            {"kind": "email", "value": " Ann@Example.com "},
            {"kind": "user_id", "value": "u-bob"},
            {"kind": "user_id", "value": "u-stranger"},
        ],
    )
    assert (result.matched, result.entered, result.unknown) == (2, 2, ["user_id:u-stranger"])
    assert {s[0] for s in stays(segment)} == {ann.pk, bob.pk}

    result = upload_members(
        segment=segment, identifiers=[{"kind": "user_id", "value": "u-bob"}], replace=True
    )
    assert (result.entered, result.exited) == (0, 1)
    current = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
    assert list(current.values_list("profile_id", flat=True)) == [bob.pk]
    assert [e[0] for e in segment_events(ann)] == ["segment_entered", "segment_exited"]

    with pytest.raises(InvalidSegment) as caught:
        upload_members(
            segment=segment,
            identifiers=[{"kind": "email", "value": "not-an-email"}, {"value": "x"}],
        )
    assert caught.value.errors[0].startswith("identifiers[0].email: not a valid email")
    assert caught.value.errors[1] == "identifiers[1]: must be an object with kind and value"


def test_merge_hands_memberships_to_the_survivor(workspace):
    ws = workspace.workspace
    survivor, merged = ProfileFactory(workspace=ws), ProfileFactory(workspace=ws)
    both = Segment.objects.create(workspace=ws, name="both", kind="static")
    only_merged = Segment.objects.create(workspace=ws, name="only merged", kind="static")
    membership.add_members(both, [survivor.pk, merged.pk])
    membership.add_members(only_merged, [merged.pk])

    merge_profiles(survivor=survivor, merged=merged, reason=ProfileMerge.MANUAL)

    assert not SegmentMembership.objects.filter(profile=merged).exists()
    current = SegmentMembership.objects.filter(profile=survivor, exited_at__isnull=True)
    assert sorted(current.values_list("segment__name", flat=True)) == ["both", "only merged"]
    # the merged profile's own stay in "both" ended, and is kept as history
    assert (
        SegmentMembership.objects.filter(
            profile=survivor, segment=both, exited_at__isnull=False
        ).count()
        == 1
    )
    # two members became one customer
    both.refresh_from_db()
    only_merged.refresh_from_db()
    assert (both.member_count, only_merged.member_count) == (1, 1)
    assert SegmentSize.objects.get(segment=both).size == 1


def test_split_re_checks_both_customers(workspace, django_capture_on_commit_callbacks):
    ws = workspace.workspace
    survivor = ProfileFactory(workspace=ws)
    merged = ProfileFactory(workspace=ws)
    EventFactory(profile=merged, name="Order Completed", timestamp=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        buyers = save_segment(
            workspace=ws, name="buyers", rules={"event": {"name": "Order Completed"}}
        )
    assert [s[0] for s in stays(buyers)] == [merged.pk]
    with django_capture_on_commit_callbacks(execute=True):
        merge = merge_profiles(survivor=survivor, merged=merged, reason=ProfileMerge.MANUAL)
    # the membership followed the customer to the survivor
    current = SegmentMembership.objects.filter(segment=buyers, exited_at__isnull=True)
    assert list(current.values_list("profile_id", flat=True)) == [survivor.pk]

    with django_capture_on_commit_callbacks(execute=True):
        split_merge(merge=merge, by="test")
    # the order went back with the restored customer, and so did the membership
    assert list(current.values_list("profile_id", flat=True)) == [merged.pk]
