import logging

from engage.workspaces.models import Workspace

from .base import Channel, SettingsError
from .manager import UnknownPlugin, get_channel_class
from .models import PluginConfig

logger = logging.getLogger(__name__)


def enabled_config(*, workspace: Workspace, plugin_id: str) -> PluginConfig | None:
    """The workspace's configuration of a plugin, if the plugin is enabled there."""
    return PluginConfig.objects.filter(
        workspace=workspace, plugin_id=plugin_id, enabled=True
    ).first()


def enabled_channel(*, workspace: Workspace, channel_id: str) -> Channel | None:
    """The channel as configured for the workspace, or None when it is not
    installed or not enabled there."""
    config = enabled_config(workspace=workspace, plugin_id=channel_id)
    if config is None:
        return None
    try:
        cls = get_channel_class(channel_id)
    except UnknownPlugin:
        return None
    try:
        settings = cls.validate_settings(config.settings)
    except SettingsError as exc:
        # Stored before a plugin upgrade changed its schema, for instance.
        logger.warning("%s is misconfigured in workspace %s: %s", channel_id, workspace.pk, exc)
        return None
    return cls(settings, workspace=workspace)
