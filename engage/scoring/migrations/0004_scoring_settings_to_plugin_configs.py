"""Each workspace's scoring settings move to the plugin configurations of the
built-in models that read them.

Only values that differ from the defaults are copied: a model without a
configuration row runs with its defaults, so a workspace that changed nothing
gets no rows. A row the workspace already has (one disabling a model, say)
keeps its enabled flag and gains the copied settings; a new row is enabled.
The defaults and the mapping are written out here, as they were when the
settings moved, so later changes to the models cannot change this step.
"""

from django.db import migrations

DEFAULTS = {
    "purchase_event": "Order Completed",
    "revenue_property": "revenue",
    "responsiveness_window_days": 60,
    "min_delivered": 3,
    "default_channel": "email",
    "ces_weights": {
        "recency": 25,
        "frequency": 25,
        "breadth": 10,
        "monetary": 20,
        "response_rate": 20,
    },
    "dormancy_at_risk_days": 60,
    "dormancy_dormant_days": 120,
    "dormancy_overdue_factor": 3.0,
    "intent_rules": [
        {
            "level": "high",
            "score": 90,
            "all": [
                {"event": "Pricing Viewed", "at_least": 3, "within_days": 2},
                {"event": "Guide Downloaded", "at_least": 1, "within_days": 2},
            ],
        },
        {
            "level": "medium",
            "score": 60,
            "all": [{"event": "Pricing Viewed", "at_least": 1, "within_days": 7}],
        },
    ],
}

# The settings each built-in model reads (its settings_schema when they moved).
READS = {
    "rfm": ("purchase_event", "revenue_property"),
    "responsiveness": ("responsiveness_window_days", "min_delivered", "default_channel"),
    "ces": (
        "ces_weights",
        "purchase_event",
        "revenue_property",
        "responsiveness_window_days",
        "dormancy_dormant_days",
    ),
    "dormancy": ("dormancy_at_risk_days", "dormancy_dormant_days", "dormancy_overdue_factor"),
    "intent": ("intent_rules",),
}


def copy_to_plugin_configs(apps, schema_editor):
    ScoringSettings = apps.get_model("scoring", "ScoringSettings")
    PluginConfig = apps.get_model("plugins", "PluginConfig")
    for row in ScoringSettings.objects.order_by("pk").iterator():
        for model_id, names in READS.items():
            changed = {
                name: getattr(row, name)
                for name in names
                if getattr(row, name) != DEFAULTS[name]
            }
            if not changed:
                continue
            config, _ = PluginConfig.objects.get_or_create(
                workspace_id=row.workspace_id,
                plugin_id=model_id,
                defaults={"enabled": True, "settings": {}},
            )
            config.settings = {**config.settings, **changed}
            config.save(update_fields=["settings", "updated_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("plugins", "0001_initial"),
        ("scoring", "0003_keys_without_constraint_checks"),
    ]

    operations = [
        migrations.RunPython(copy_to_plugin_configs, migrations.RunPython.noop, elidable=True),
    ]
