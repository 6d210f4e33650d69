from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "engage.segments"
    default_auto_field = "django.db.models.BigAutoField"
