from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "engage.feedback"
    verbose_name = "feedback"
