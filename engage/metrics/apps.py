from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "engage.metrics"
    verbose_name = "metrics"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the signal receivers
