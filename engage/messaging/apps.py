from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "engage.messaging"

    def ready(self):
        from . import esp, receivers  # noqa: F401 (connect the signal receivers)
