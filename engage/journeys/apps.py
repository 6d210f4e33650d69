from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "engage.journeys"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the signal receivers
