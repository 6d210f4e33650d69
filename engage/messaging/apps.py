from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "engage.messaging"

    def ready(self):
        from . import receivers  # noqa: F401 (connects the merge, split and ESP tracking receivers)
