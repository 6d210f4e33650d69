from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "engage.scoring"

    def ready(self):
        from . import receivers  # noqa: F401 (connects the merge receivers)
