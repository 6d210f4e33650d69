from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "engage.scoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import receivers  # noqa: F401 (connects the merge receivers)
