"""Merges and splits announced as a batch: every app re-points its rows for
all pairs at once, with a statement count that does not grow with the pairs."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.events.models import Event
from engage.messaging import consent
from engage.messaging.models import Consent, MessageDecision
from engage.profiles.models import Profile, ProfileMerge
from engage.profiles.signals import profiles_merged, profiles_split
from engage.scoring.models import Score, ScoreHistory
from engage.segments import membership
from engage.segments.models import Segment, SegmentMembership
from tests.customer_factories import T0, EventFactory, MergeFactory, ProfileFactory

pytestmark = pytest.mark.django_db

WEEK = dt.date(2025, 1, 6)


def score(profile, model, value):
    Score.objects.create(
        workspace=profile.workspace, profile=profile, model=model, value=value, computed_at=T0
    )
    ScoreHistory.objects.create(
        workspace=profile.workspace, profile=profile, model=model, week=WEEK, value=value
    )


def merged_pair(ws, segment):
    """A survivor and a merged customer, each with rows in every app."""
    merge = MergeFactory(survivor=ProfileFactory(workspace=ws))
    survivor, merged = merge.survivor, merge.merged
    EventFactory(profile=merged, name="Browsed")
    consent.record_consent(profile=merged, status=Consent.OPTED_OUT, source="unsubscribe")
    MessageDecision.objects.create(
        workspace=ws, profile=merged, channel="email", action=MessageDecision.SKIP, reason="quiet"
    )
    score(survivor, "dormancy", 1)
    score(merged, "dormancy", 9)
    score(merged, "rfm", 111)
    membership.add_members(segment, [survivor.pk, merged.pk])
    return survivor.pk, merged.pk, merge.pk


def announce(ws, pairs):
    with CaptureQueriesContext(connection) as queries:
        profiles_merged.send(sender=ProfileMerge, workspace=ws, pairs=pairs)
    return len(queries)


def assert_moved(pairs, segment):
    for survivor_id, merged_id, _ in pairs:
        for model in (Event, Consent, MessageDecision, Score, ScoreHistory, SegmentMembership):
            assert not model.objects.filter(profile_id=merged_id).exists(), model
        browsed = Event.objects.get(profile_id=survivor_id, name="Browsed")
        assert browsed.origin_profile_id == merged_id
        assert Consent.objects.get(profile_id=survivor_id).status == Consent.OPTED_OUT
        assert MessageDecision.objects.filter(profile_id=survivor_id).count() == 1
        # The survivor keeps its own dormancy and takes the RFM only the merged one had.
        held = dict(Score.objects.filter(profile_id=survivor_id).values_list("model", "value"))
        assert held == {"dormancy": 1, "rfm": 111}
        assert ScoreHistory.objects.filter(profile_id=survivor_id).count() == 2
        stays = SegmentMembership.objects.filter(profile_id=survivor_id, segment=segment)
        assert stays.filter(exited_at__isnull=True).count() == 1
        assert stays.filter(exited_at__isnull=False).count() == 1


def test_three_merges_announced_at_once_move_every_apps_rows(workspace):
    ws = workspace.workspace
    segment = Segment.objects.create(workspace=ws, name="vip", kind="static")
    pairs = [merged_pair(ws, segment) for _ in range(3)]

    announce(ws, pairs)

    assert_moved(pairs, segment)
    segment.refresh_from_db()
    # Six members became three customers.
    assert segment.member_count == 3


def test_the_statement_count_does_not_grow_with_the_pairs(workspace, other_workspace):
    one_ws, three_ws = workspace.workspace, other_workspace.workspace
    one_segment = Segment.objects.create(workspace=one_ws, name="vip", kind="static")
    three_segment = Segment.objects.create(workspace=three_ws, name="vip", kind="static")
    one = [merged_pair(one_ws, one_segment)]
    three = [merged_pair(three_ws, three_segment) for _ in range(3)]

    assert announce(three_ws, three) == announce(one_ws, one)
    assert_moved(one, one_segment)
    assert_moved(three, three_segment)


def test_a_chain_and_two_merges_into_one_survivor_in_one_batch(workspace):
    """C into B then B into A, and D into A: every row ends on A, once."""
    ws = workspace.workspace
    a, b, c, d = (ProfileFactory(workspace=ws) for _ in range(4))
    segment = Segment.objects.create(workspace=ws, name="vip", kind="static")
    membership.add_members(segment, [b.pk, c.pk, d.pk])
    for profile, value in ((b, 2), (c, 3), (d, 4)):
        score(profile, "rfm", value)
        EventFactory(profile=profile)
    pairs = [
        (b.pk, c.pk, MergeFactory(survivor=b, merged=c).pk),
        (a.pk, b.pk, MergeFactory(survivor=a, merged=b).pk),
        (a.pk, d.pk, MergeFactory(survivor=a, merged=d).pk),
    ]

    announce(ws, pairs)

    assert Event.objects.filter(profile=a, name="Order Completed").count() == 3
    # Of the merged profiles' scores, the earliest created moves; the others go.
    assert list(Score.objects.values_list("profile_id", "value")) == [(a.pk, 2)]
    assert list(ScoreHistory.objects.values_list("profile_id", "value")) == [(a.pk, 2)]
    assert SegmentMembership.objects.filter(profile=a, exited_at__isnull=True).count() == 1
    assert SegmentMembership.objects.filter(profile=a).count() == 3
    segment.refresh_from_db()
    assert segment.member_count == 1


def test_three_splits_announced_at_once_hand_back_what_each_brought(workspace):
    ws = workspace.workspace
    segment = Segment.objects.create(workspace=ws, name="vip", kind="static")
    pairs = [merged_pair(ws, segment) for _ in range(3)]
    announce(ws, pairs)
    for survivor_id, _, _ in pairs:
        # Written for the survivor after the merge: it stays.
        later = T0 + dt.timedelta(days=9)
        EventFactory(profile=Profile.objects.get(pk=survivor_id), timestamp=later)
    Profile.objects.filter(pk__in=[m for _, m, _ in pairs]).update(merged_into=None)

    with CaptureQueriesContext(connection) as queries:
        profiles_split.send(sender=ProfileMerge, workspace=ws, pairs=pairs)
    split_queries = len(queries)
    with CaptureQueriesContext(connection) as queries:
        profiles_split.send(sender=ProfileMerge, workspace=ws, pairs=pairs[:1])

    assert len(queries) == split_queries
    for survivor_id, merged_id, _ in pairs:
        restored = Profile.objects.get(pk=merged_id)
        browsed = Event.objects.get(profile=restored, name="Browsed")
        assert Consent.objects.get(profile=restored).status == Consent.OPTED_OUT
        assert MessageDecision.objects.filter(profile=restored).count() == 1
        assert not Event.objects.filter(profile_id=survivor_id, name="Browsed").exists()
        assert not Consent.objects.filter(profile_id=survivor_id).exists()
        # Seen times are read again from the events each now holds.
        assert restored.first_seen_at == browsed.timestamp
        survivor = Profile.objects.get(pk=survivor_id)
        assert survivor.first_seen_at == T0 + dt.timedelta(days=9)
