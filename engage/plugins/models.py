from django.db import models

from engage.workspaces.models import Workspace


class PluginConfig(models.Model):
    """A plugin enabled and configured for one workspace.

    ``settings`` holds what the plugin's ``validate_settings`` returned,
    secrets included: they are needed to call providers, but no admin page or
    API response ever shows them again.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="plugins")
    plugin_id = models.CharField(max_length=64)
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "plugin configuration"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "plugin_id"], name="pluginconfig_unique_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plugin_id} ({'on' if self.enabled else 'off'})"
