from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "engage.metrics"
    verbose_name = "metrics"
