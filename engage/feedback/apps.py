from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "engage.feedback"
    verbose_name = "feedback"

    def ready(self):
        from engage.messaging.rendering import register_context

        from . import receivers  # noqa: F401 - connects the signal receivers
        from .links import survey_context

        register_context("survey", survey_context, sees_template=True)
