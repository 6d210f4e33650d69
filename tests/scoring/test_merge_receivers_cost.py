"""The merge receivers of scoring, segments and messaging cost one probe each
when the merged profiles hold none of their rows (the new devices processing
merges), and still move every row when only some of their tables hold any."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.messaging.models import Consent, Message, MessageDecision
from engage.messaging.receivers import on_profiles_merged as move_messaging_rows
from engage.profiles.models import ProfileMerge
from engage.scoring.models import Score, ScoreHistory
from engage.scoring.receivers import move_scores_to_survivors
from engage.segments import membership
from engage.segments.models import Segment, SegmentMembership
from tests.customer_factories import T0, EventFactory, ProfileFactory
from tests.live_processes import run_embedded

pytestmark = pytest.mark.django_db

RECEIVERS = {
    "scoring": move_scores_to_survivors,
    "segments": lambda sender, *, pairs, **kwargs: membership.repoint_memberships(pairs=pairs),
    "messaging": move_messaging_rows,
}


def new_devices(ws, count):
    """Pairs of a known customer and a device seen once, merged into it."""
    pairs = []
    for merge_id in range(1, count + 1):
        survivor, device = ProfileFactory(workspace=ws), ProfileFactory(workspace=ws)
        EventFactory(profile=device)
        pairs.append((survivor.pk, device.pk, merge_id))
    return pairs


@pytest.mark.parametrize("app", sorted(RECEIVERS))
def test_merging_new_devices_costs_one_statement_per_app(workspace, app):
    ws = workspace.workspace
    pairs = new_devices(ws, 30)

    with CaptureQueriesContext(connection) as queries:
        RECEIVERS[app](ProfileMerge, workspace=ws, pairs=pairs)

    assert len(queries) == 1


def test_only_the_tables_holding_rows_are_moved(workspace):
    """A merged profile with score history but no current score, a consent but
    no message: what it has moves, and the survivor's own rows stay."""
    ws = workspace.workspace
    (survivor_id, merged_id, _), *others = pairs = new_devices(ws, 3)
    ScoreHistory.objects.create(
        workspace=ws, profile_id=merged_id, model="rfm", week=dt.date(2025, 1, 6), value=5
    )
    Score.objects.create(workspace=ws, profile_id=survivor_id, model="rfm", value=1, computed_at=T0)
    Consent.objects.create(
        workspace=ws,
        profile_id=merged_id,
        channel="email",
        status=Consent.OPTED_OUT,
        source="unsubscribe",
        created_at=T0,
    )
    segment = Segment.objects.create(workspace=ws, name="vip", kind="static")
    membership.add_members(segment, [merged_id, others[0][1]])

    for receiver in RECEIVERS.values():
        receiver(ProfileMerge, workspace=ws, pairs=pairs)

    assert list(ScoreHistory.objects.values_list("profile_id", "value")) == [(survivor_id, 5)]
    assert list(Score.objects.values_list("profile_id", "value")) == [(survivor_id, 1)]
    assert Consent.objects.get().profile_id == survivor_id
    assert not Message.objects.exists() and not MessageDecision.objects.exists()
    members = SegmentMembership.objects.filter(exited_at__isnull=True)
    assert sorted(members.values_list("profile_id", flat=True)) == sorted(
        [survivor_id, others[0][0]]
    )


@pytest.mark.slow
def test_the_receivers_sql_runs_the_same_on_sqlite(tmp_path):
    """Scoring writes its merge statements in SQL: they run on the embedded default too."""
    result = run_embedded(
        [
            "-m",
            "pytest",
            "tests/profiles/test_merge_signal.py",
            "tests/scoring/test_merge_receivers_cost.py",
            "-k",
            "not sqlite",
            "-q",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
        ],
        tmp_path / "engage.sqlite3",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
