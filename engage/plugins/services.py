from typing import Any

from engage.workspaces.models import Workspace

from .base import Plugin, SettingsError
from .manager import UnknownPlugin, get_plugin_class
from .models import PluginConfig


def destination_fields(plugin: type[Plugin]) -> list[str]:
    """The settings that say where a plugin connects, and so where its secrets
    go: every URL setting, and hosts (``*_host``)."""
    return [
        spec.name
        for spec in plugin.settings_schema
        if spec.type == "url" or spec.name.endswith("_host")
    ]


def moved_destinations(
    plugin: type[Plugin], submitted: dict[str, Any], stored: dict[str, Any]
) -> list[str]:
    """The destination settings ``submitted`` changes from ``stored``."""
    if not stored:
        return []
    moved = []
    defaults = {spec.name: spec.default for spec in plugin.settings_schema}
    for name in destination_fields(plugin):
        new = submitted.get(name)
        if new in (None, ""):
            new = defaults[name]
        if isinstance(new, str):
            new = new.strip()
        if new != stored.get(name):
            moved.append(name)
    return moved


def merge_secrets(
    *, plugin_id: str, submitted: dict[str, Any], stored: dict[str, Any]
) -> dict[str, Any]:
    """``submitted`` with every blank or missing secret taken from ``stored``.

    Secrets are write-only: forms never show them, so a blank secret means
    "keep the current value", not "erase it". But a stored secret is only
    ever sent where it was entered for: when a URL or host setting changes,
    each stored secret must be typed again (SettingsError naming it), or
    anyone who may edit the settings could point them at their own server
    and receive the secret with the next send.
    """
    plugin = get_plugin_class(plugin_id)
    moved = moved_destinations(plugin, submitted, stored)
    merged = dict(submitted)
    errors = {}
    for name in plugin.secret_fields():
        if merged.get(name) in (None, "") and stored.get(name) not in (None, ""):
            if moved:
                errors[name] = (
                    f"required again: {', '.join(moved)} changed, and the stored value "
                    "is only sent where it was entered for"
                )
            else:
                merged[name] = stored[name]
    if errors:
        raise SettingsError(errors)
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
