from typing import Any

from engage.workspaces.models import Workspace

from .base import SettingsError
from .manager import UnknownPlugin, get_plugin_class
from .models import PluginConfig


def merge_secrets(
    *, plugin_id: str, submitted: dict[str, Any], stored: dict[str, Any]
) -> dict[str, Any]:
    """``submitted`` with every blank or missing secret taken from ``stored``.

    Secrets are write-only: forms never show them, so a blank secret means
    "keep the current value", not "erase it".
    """
    merged = dict(submitted)
    for name in get_plugin_class(plugin_id).secret_fields():
        if merged.get(name) in (None, "") and stored.get(name) not in (None, ""):
            merged[name] = stored[name]
    return merged


def configure_plugin(
    *,
    workspace: Workspace,
    plugin_id: str,
    settings: dict[str, Any],
    enabled: bool = True,
) -> PluginConfig:
    """Create or update a workspace's configuration of a plugin.

    The plugin validates the settings; blank secrets keep their stored value.
    Raises SettingsError naming the bad fields (``plugin_id`` when the plugin
    is not installed).
    """
    try:
        plugin = get_plugin_class(plugin_id)
    except UnknownPlugin as exc:
        raise SettingsError({"plugin_id": str(exc)}) from None
    config = PluginConfig.objects.filter(workspace=workspace, plugin_id=plugin_id).first()
    stored = config.settings if config else {}
    cleaned = plugin.validate_settings(
        merge_secrets(plugin_id=plugin_id, submitted=settings, stored=stored)
    )
    if config is None:
        return PluginConfig.objects.create(
            workspace=workspace, plugin_id=plugin_id, enabled=enabled, settings=cleaned
        )
    config.settings = cleaned
    config.enabled = enabled
    config.save(update_fields=["settings", "enabled", "updated_at"])
    return config
