"""``manage.py check`` reports the plugins' problems as well.

Start-up (``PluginsConfig.ready``) already refuses a plugin that cannot load;
the check also covers registries rebuilt after start-up, e.g. a plugin
registered later in the same process.
"""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import manager


def plugin_registries(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        manager.build_registries()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="engage.plugins.E001")]
    return []


def register() -> None:
    checks.register(plugin_registries, "engage")
