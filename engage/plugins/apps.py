from django.apps import AppConfig

from . import checks, manager


class PluginsConfig(AppConfig):
    name = "engage.plugins"

    def ready(self):
        # Every process (the WSGI app, a Celery worker, each command) loads the
        # plugins and builds the registries before doing anything, so a plugin
        # that cannot load or a missing built-in stops it at once with a
        # message naming the plugin, instead of failing the first request or
        # task that needs a channel.
        manager.build_registries()
        checks.register()
