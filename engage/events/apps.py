from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "engage.events"

    def ready(self):
        from . import receivers  # noqa: F401 (connects the merge and split receivers)
