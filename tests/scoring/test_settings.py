"""Scoring settings: bad values get an error naming the field (and the JSON path)."""

import pytest
from django.core.exceptions import ValidationError

from engage.scoring.models import ScoringSettings, settings_for


def errors_of(workspace, **values) -> dict[str, list[str]]:
    row = ScoringSettings(workspace=workspace.workspace, **values)
    with pytest.raises(ValidationError) as caught:
        row.full_clean()
    return caught.value.message_dict


def test_defaults_are_valid_and_used_without_a_row(workspace):
    defaults = settings_for(workspace.workspace)
    defaults.full_clean()
    assert defaults.pk is None
    assert defaults.purchase_event == "Order Completed"
    assert defaults.responsiveness_window_days == 60


@pytest.mark.parametrize("days", [29, 91])
def test_responsiveness_window_is_30_to_90_days(workspace, days):
    assert "responsiveness_window_days" in errors_of(workspace, responsiveness_window_days=days)


def test_dormant_comes_after_at_risk(workspace):
    errors = errors_of(workspace, dormancy_at_risk_days=90, dormancy_dormant_days=90)
    assert errors["dormancy_dormant_days"] == [
        "must be more than dormancy_at_risk_days (90): dormant comes after at risk"
    ]


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
    [error] = errors_of(workspace, ces_weights=weights)["ces_weights"]
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
    ],
)
def test_bad_intent_rules_name_the_path(workspace, rules, message):
    errors = errors_of(workspace, intent_rules=rules)["intent_rules"]
    assert any(error.startswith(message) for error in errors), errors
