"""Scoring models are plugins: a third-party model, written as docs/scoring.md
shows, and the built-ins are registered, configured and disabled per workspace
like channels."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from engage.plugins import ScoringModel, hookimpl
from engage.plugins.base import Run, SettingField
from engage.plugins.manager import scoring_models
from engage.plugins.services import configure_plugin
from engage.scoring.models import Score

from .helpers import compute, customer, did, scores


class RecentBuyers(ScoringModel):
    id = "recent_buyers"
    name = "Purchases in the last N days"
    settings_schema = (SettingField("days", type="integer", default=30),)

    def select(self, run: Run):
        components = run.sql.json_object({"purchases": "COUNT(*)"})
        sql = (
            f"SELECT profile_id, COUNT(*) AS value, '' AS cell, {components} AS components "
            "FROM events_event WHERE workspace_id = %s AND name = 'Order Completed' "
            "AND timestamp > %s AND timestamp <= %s AND profile_id IS NOT NULL "
            "GROUP BY profile_id"
        )
        since = run.as_of - timedelta(days=self.settings["days"])
        return sql, [run.workspace_id, run.sql.ts(since), run.sql.ts(run.as_of)]


class ThirdParty:
    @hookimpl
    def engage_scoring_models(self):
        return [RecentBuyers]


class AnotherRFM(RecentBuyers):
    id = "rfm"


class Clash:
    @hookimpl
    def engage_scoring_models(self):
        return [AnotherRFM]


def test_a_plugin_model_is_computed_with_the_workspace_settings(
    workspace, other_workspace, register_plugin
):
    register_plugin(ThirdParty(), "third-party-scoring")
    acme, globex = workspace.workspace, other_workspace.workspace
    configure_plugin(workspace=globex, plugin_id="recent_buyers", settings={"days": 60})
    buyers = {}
    for ws in (acme, globex):
        buyers[ws.pk] = customer(ws)
        did(buyers[ws.pk], "Order Completed", 5, revenue=1)
        did(buyers[ws.pk], "Order Completed", 40, revenue=1)

    compute(acme, "recent_buyers")
    compute(globex, "recent_buyers")

    assert "recent_buyers" in scoring_models()
    assert scores(acme, "recent_buyers")[buyers[acme.pk].pk].components == {"purchases": 1}
    assert scores(globex, "recent_buyers")[buyers[globex.pk].pk].components == {"purchases": 2}


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_a_model_disabled_in_the_admin_is_not_computed_for_that_workspace_only(
    staff_client, workspace, other_workspace
):
    acme, globex = workspace.workspace, other_workspace.workspace
    for ws in (acme, globex):
        did(customer(ws), "Order Completed", 2, revenue=10)

    response = staff_client.post(
        "/admin/plugins/pluginconfig/add/", {"workspace": acme.pk, "plugin_id": "rfm"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    out = StringIO()
    call_command("compute_scores", stdout=out)

    assert set(Score.objects.filter(model="rfm").values_list("workspace", flat=True)) == {globex.pk}
    assert set(Score.objects.filter(workspace=acme).values_list("model", flat=True)) == {
        "ces",
        "dormancy",
    }
    assert out.getvalue().count("  rfm: ") == 1


def test_two_models_with_one_id_are_refused_naming_both_plugins(db, register_plugin):
    register_plugin(Clash(), "test-clash")

    with pytest.raises(ImproperlyConfigured) as refused:
        scoring_models()
    assert str(refused.value) == "scoring model id 'rfm' is provided by both 'rfm' and 'test-clash'"
