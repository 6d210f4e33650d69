from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "engage.dashboards"
    verbose_name = "dashboards"
