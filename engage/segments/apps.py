from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "engage.segments"

    def ready(self):
        from . import receivers  # noqa: F401 (connects the event, merge and split receivers)
