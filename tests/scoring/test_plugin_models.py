"""A third-party scoring model, written as docs/scoring.md shows, through the plugin hook."""

from datetime import timedelta

import pytest

from engage.plugins import hookimpl
from engage.plugins.base import ScoringModel
from engage.plugins.manager import get_plugin_manager
from engage.scoring.base import Run, SetScoringModel
from engage.scoring.registry import scoring_models

from .helpers import compute, customer, did, scores


class RecentBuyers(SetScoringModel):
    id = "recent_buyers"
    name = "Purchases in the last 30 days"

    def select(self, run: Run):
        components = run.sql.json_object({"purchases": "COUNT(*)"})
        sql = (
            f"SELECT profile_id, COUNT(*) AS value, '' AS cell, {components} AS components "
            "FROM events_event WHERE workspace_id = %s AND name = 'Order Completed' "
            "AND timestamp > %s AND timestamp <= %s AND profile_id IS NOT NULL "
            "GROUP BY profile_id"
        )
        since = run.as_of - timedelta(days=30)
        return sql, [run.workspace_id, run.sql.ts(since), run.sql.ts(run.as_of)]


class OneAtATime(ScoringModel):
    id = "one_at_a_time"
    name = "Scores one profile per call"

    def score(self, *, profile) -> float:
        return 1.0


class ThirdParty:
    @hookimpl
    def engage_scoring_models(self):
        return [RecentBuyers, OneAtATime]


@pytest.fixture
def third_party():
    pm = get_plugin_manager()
    plugin = ThirdParty()
    pm.register(plugin, name="third-party-scoring")
    yield
    pm.unregister(plugin)


def test_set_based_plugin_models_are_computed_others_skipped(workspace, third_party):
    ws = workspace.workspace
    buyer = customer(ws)
    did(buyer, "Order Completed", 5, revenue=1)
    did(buyer, "Order Completed", 40, revenue=1)

    installed = scoring_models()
    compute(ws, "recent_buyers")

    assert "recent_buyers" in installed
    assert "one_at_a_time" not in installed
    score = scores(ws, "recent_buyers")[buyer.pk]
    assert (score.value, score.components) == (1, {"purchases": 1})
