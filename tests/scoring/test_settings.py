"""The built-in models' settings are plugin settings: bad values are refused
with an error naming the field (and, inside the JSON settings, the path), and
nothing is stored."""

import pytest

from engage.plugins.base import SettingsError
from engage.plugins.manager import get_scoring_model_class
from engage.plugins.models import PluginConfig
from engage.plugins.services import configure_plugin
from engage.scoring.services import workspace_models


def errors_of(workspace, plugin_id: str, **values) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        configure_plugin(workspace=workspace.workspace, plugin_id=plugin_id, settings=values)
    assert not PluginConfig.objects.exists()
    return caught.value.errors


def test_defaults_are_used_without_a_configuration_row(workspace):
    models = {model.id: model for model in workspace_models(workspace.workspace)}

    assert not PluginConfig.objects.exists()
    assert models["rfm"].settings == {
        "purchase_event": "Order Completed",
        "revenue_property": "revenue",
    }
    assert models["responsiveness"].settings == {
        "responsiveness_window_days": 60,
        "min_delivered": 3,
        "default_channel": "email",
    }
    assert models["dormancy"].settings["dormancy_overdue_factor"] == 3.0
    assert models["intent"].settings["intent_rules"][0]["level"] == "high"


def test_a_shared_setting_has_one_definition_in_every_schema():
    field = {
        model_id: {spec.name: spec for spec in get_scoring_model_class(model_id).settings_schema}
        for model_id in ("rfm", "ces", "responsiveness", "dormancy")
    }
    assert field["rfm"]["purchase_event"] is field["ces"]["purchase_event"]
    assert field["rfm"]["revenue_property"] is field["ces"]["revenue_property"]
    window = "responsiveness_window_days"
    assert field["responsiveness"][window] is field["ces"][window]
    assert field["dormancy"]["dormancy_dormant_days"] is field["ces"]["dormancy_dormant_days"]


def test_a_json_default_is_never_shared_between_workspaces(workspace):
    [first] = workspace_models(workspace.workspace, ["intent"])
    first.settings["intent_rules"].clear()

    [second] = workspace_models(workspace.workspace, ["intent"])
    assert len(second.settings["intent_rules"]) == 2


@pytest.mark.parametrize("plugin_id", ["responsiveness", "ces"])
@pytest.mark.parametrize("days", [29, 91])
def test_responsiveness_window_is_30_to_90_days(workspace, plugin_id, days):
    errors = errors_of(workspace, plugin_id, responsiveness_window_days=days)
    assert errors == {"responsiveness_window_days": "must be between 30 and 90"}


@pytest.mark.parametrize(
    ("plugin_id", "values", "errors"),
    [
        ("rfm", {"purchase_event": "  "}, {"purchase_event": "must not be blank"}),
        ("rfm", {"revenue_property": "r" * 101}, {"revenue_property": "at most 100 characters"}),
        ("responsiveness", {"min_delivered": 0}, {"min_delivered": "must be between 1 and 32767"}),
        ("responsiveness", {"min_delivered": "many"}, {"min_delivered": "must be an integer"}),
        (
            "dormancy",
            {"dormancy_overdue_factor": "x"},
            {"dormancy_overdue_factor": "must be a number"},
        ),
        (
            "dormancy",
            {"dormancy_overdue_factor": 0.5},
            {"dormancy_overdue_factor": "must be between 1 and 1000"},
        ),
        (
            "ces",
            {"dormancy_dormant_days": 0},
            {"dormancy_dormant_days": "must be between 1 and 32767"},
        ),
        ("intent", {"colour": "red"}, {"colour": "unknown setting"}),
    ],
)
def test_bad_values_name_the_field(workspace, plugin_id, values, errors):
    assert errors_of(workspace, plugin_id, **values) == errors


def test_dormant_comes_after_at_risk(workspace):
    errors = errors_of(workspace, "dormancy", dormancy_at_risk_days=90, dormancy_dormant_days=90)
    assert errors == {
        "dormancy_dormant_days": "must be more than dormancy_at_risk_days (90): "
        "dormant comes after at risk"
    }


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"recency": -1}, "ces_weights.recency: must be a number >= 0"),
        ({"loyalty": 1}, "ces_weights.loyalty: unknown component"),
        ({"recency": 0}, "ces_weights: at least one weight must be above 0"),
        ({"recency": "high"}, "ces_weights.recency: must be a number >= 0"),
        ([1, 2], "ces_weights: must be an object"),
    ],
)
def test_bad_ces_weights(workspace, weights, message):
    error = errors_of(workspace, "ces", ces_weights=weights)["ces_weights"]
    assert error.startswith(message)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"level": "high"}, "intent_rules: must be a list of rules"),
        ([{"score": 50, "all": []}], "intent_rules[0].level: required"),
        (
            [{"level": "high", "score": 500, "all": [{"event": "X", "within_days": 1}]}],
            "intent_rules[0].score: required: a number from 0 to 100",
        ),
        (
            [{"level": "high", "score": 50, "all": [{"event": "X", "within_days": 0}]}],
            "intent_rules[0].all[0].within_days: required: a number of days above 0",
        ),
        (
            [
                {
                    "level": "high",
                    "score": 50,
                    "all": [
                        {"event": "X", "within_days": 2},
                        {"event": "Y", "within_days": 2, "at_least": 0},
                    ],
                }
            ],
            "intent_rules[0].all[1].at_least: must be an integer between 1 and 10000",
        ),
        (
            [
                {
                    "level": "high",
                    "score": 50,
                    "all": [{"event": "X", "within_days": 2, "where": {"a.b": 1}}],
                }
            ],
            "intent_rules[0].all[0].where.a.b: property names use letters",
        ),
        (
            [
                {"level": "high", "score": 50, "all": [{"event": "X", "within_days": 2}]},
                {"level": "high", "score": 60, "all": [{"event": "Y", "within_days": 2}]},
            ],
            "intent_rules[1].level: 'high' is used by an earlier rule",
        ),
        (
            [{"level": "high", "score": 50, "all": [{"event": "", "within_days": 2}]}],
            "intent_rules[0].all[0].event: required",
        ),
        (
            [{"level": "high", "score": 50, "all": [{"event": "X\x00", "within_days": 2}]}],
            "intent_rules[0].all[0].event: contains a NUL character",
        ),
    ],
)
def test_bad_intent_rules_name_the_path(workspace, rules, message):
    errors = errors_of(workspace, "intent", intent_rules=rules)["intent_rules"].split("; ")
    assert any(error.startswith(message) for error in errors), errors
