from django.apps import AppConfig


class BroadcastsConfig(AppConfig):
    name = "engage.broadcasts"
    verbose_name = "broadcasts"
