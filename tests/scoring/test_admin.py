"""Admin: scores read-only and scoped to the operator's workspaces; the models'
settings validated in the plugin configuration admin."""

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from engage.plugins.models import PluginConfig
from engage.scoring.models import Score

from .helpers import compute, customer, did


def operator_of(workspace, username: str, *codenames: str) -> Client:
    user = User.objects.create_user(username, password="not-used", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    workspace.members.add(user)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def scored(workspace, other_workspace):
    mine = customer(workspace.workspace)
    did(mine, "Order Completed", 2, revenue=10)
    theirs = customer(other_workspace.workspace)
    did(theirs, "Order Completed", 200, revenue=10)
    compute(workspace.workspace, "rfm")
    compute(other_workspace.workspace, "rfm")
    return mine, theirs


def test_scores_list_shows_only_the_operators_workspace(workspace, scored):
    mine, theirs = scored
    client = operator_of(workspace.workspace, "ann", "view_score")

    page = client.get("/admin/scoring/score/")

    assert page.status_code == 200
    rows = page.context["cl"].result_list
    assert [row.profile_id for row in rows] == [mine.pk]
    score = rows[0]
    change = client.get(f"/admin/scoring/score/{score.pk}/change/")
    assert change.status_code == 200
    assert b'name="value"' not in change.content  # read-only: no input
    other = theirs.scores.get()
    assert client.get(f"/admin/scoring/score/{other.pk}/change/").status_code == 302


def test_plugin_settings_form_names_the_bad_field_and_json_path(workspace):
    client = operator_of(workspace.workspace, "ann", "add_pluginconfig", "view_pluginconfig")
    empty = client.get("/admin/plugins/pluginconfig/add/?plugin_id=intent")
    assert "Pricing Viewed" in empty.content.decode()  # the default rules, to edit
    form = {
        "workspace": workspace.workspace.pk,
        "plugin_id": "intent",
        "enabled": "on",
        "setting_intent_rules": '[{"level": "high", "score": 90, "all": [{"event": "X"}]}]',
    }

    page = client.post("/admin/plugins/pluginconfig/add/", form)

    assert page.status_code == 200
    assert "intent_rules: intent_rules[0].all[0].within_days: required" in page.content.decode()
    form["setting_intent_rules"] = "[{"
    page = client.post("/admin/plugins/pluginconfig/add/", form)
    assert "intent_rules: not valid JSON" in page.content.decode()
    form["setting_intent_rules"] = "[" * 5000 + "]" * 5000
    page = client.post("/admin/plugins/pluginconfig/add/", form)
    assert "intent_rules: nested deeper than 64 levels" in page.content.decode()
    assert not PluginConfig.objects.exists()

    rule = {"level": "high", "score": 90, "all": [{"event": "X", "within_days": 1}]}
    form["setting_intent_rules"] = json.dumps([rule])
    assert client.post("/admin/plugins/pluginconfig/add/", form).status_code == 302
    assert PluginConfig.objects.get().settings == {"intent_rules": [rule]}


def test_plugin_settings_form_refuses_a_bad_number_naming_it(workspace):
    client = operator_of(workspace.workspace, "ann", "add_pluginconfig", "view_pluginconfig")
    form = {
        "workspace": workspace.workspace.pk,
        "plugin_id": "dormancy",
        "enabled": "on",
        "setting_dormancy_at_risk_days": "90",
        "setting_dormancy_dormant_days": "90",
        "setting_dormancy_overdue_factor": "2.5",
    }

    page = client.post("/admin/plugins/pluginconfig/add/", form)

    assert page.status_code == 200
    assert "dormancy_dormant_days: must be more than dormancy_at_risk_days (90)" in (
        page.content.decode()
    )
    assert not PluginConfig.objects.exists()
    form["setting_dormancy_dormant_days"] = "120"
    assert client.post("/admin/plugins/pluginconfig/add/", form).status_code == 302
    assert PluginConfig.objects.get().settings["dormancy_overdue_factor"] == 2.5


def test_profile_page_shows_the_customers_scores_read_only(workspace, scored):
    mine, _ = scored
    client = operator_of(workspace.workspace, "ann", "view_profile", "view_score")

    page = client.get(f"/admin/profiles/profile/{mine.pk}/change/")

    assert page.status_code == 200
    [inline] = [f for f in page.context["inline_admin_formsets"] if f.opts.model is Score]
    assert [form.form.instance.model for form in inline] == ["rfm"]
    assert not inline.has_change_permission
    assert "components" in inline.readonly_fields
