"""Upgrading moves each workspace's scoring settings to the built-in models'
plugin configurations (migration 0004), so no workspace's scores change."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from engage.plugins.models import PluginConfig
from engage.scoring.services import workspace_models
from engage.workspaces.services import create_workspace

BEFORE = [("scoring", "0003_keys_without_constraint_checks")]
AFTER = [("scoring", "0005_scoring_settings_are_plugin_settings")]

RULES = [{"level": "hot", "score": 95, "all": [{"event": "Demo Requested", "within_days": 3}]}]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_the_move(transactional_db):
    """The apps as they were with ScoringSettings; the schema is brought
    back to the latest once the test is over, whatever happened."""
    yield migrate(BEFORE)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_custom_settings_move_to_the_models_that_read_them(before_the_move):
    ScoringSettings = before_the_move.get_model("scoring", "ScoringSettings")
    custom = create_workspace(name="acme").workspace
    untouched = create_workspace(name="globex").workspace
    rfm_off = create_workspace(name="initech").workspace
    ScoringSettings.objects.create(
        workspace_id=custom.pk,
        ces_weights={"recency": 3},
        intent_rules=RULES,
        responsiveness_window_days=30,
        dormancy_dormant_days=200,
        dormancy_overdue_factor=4.5,
    )
    ScoringSettings.objects.create(workspace_id=untouched.pk)
    ScoringSettings.objects.create(workspace_id=rfm_off.pk, purchase_event="Checkout Done")
    PluginConfig.objects.create(workspace=rfm_off, plugin_id="rfm", enabled=False)

    migrate(AFTER)

    stored = {
        (config.workspace_id, config.plugin_id): (config.enabled, config.settings)
        for config in PluginConfig.objects.all()
    }
    assert stored == {
        (custom.pk, "ces"): (
            True,
            {
                "ces_weights": {"recency": 3},
                "responsiveness_window_days": 30,
                "dormancy_dormant_days": 200,
            },
        ),
        (custom.pk, "intent"): (True, {"intent_rules": RULES}),
        (custom.pk, "responsiveness"): (True, {"responsiveness_window_days": 30}),
        (custom.pk, "dormancy"): (
            True,
            {"dormancy_dormant_days": 200, "dormancy_overdue_factor": 4.5},
        ),
        (rfm_off.pk, "rfm"): (False, {"purchase_event": "Checkout Done"}),
        (rfm_off.pk, "ces"): (True, {"purchase_event": "Checkout Done"}),
    }
    models = {model.id: model for model in workspace_models(custom)}
    assert models["ces"].settings["ces_weights"] == {"recency": 3}
    assert models["ces"].settings["purchase_event"] == "Order Completed"
    assert models["intent"].settings["intent_rules"] == RULES
    assert models["dormancy"].settings["dormancy_at_risk_days"] == 60
    assert models["dormancy"].settings["dormancy_dormant_days"] == 200
