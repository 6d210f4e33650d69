from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "engage.plugins"
