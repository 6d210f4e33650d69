from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "engage.segments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from engage.events.signals import events_processed
        from engage.profiles.signals import profile_merged, profile_split

        from . import realtime

        events_processed.connect(realtime.on_events_processed, dispatch_uid="segments-recheck")
        profile_merged.connect(realtime.on_profile_merged, dispatch_uid="segments-merge")
        profile_split.connect(realtime.on_profile_split, dispatch_uid="segments-split")
