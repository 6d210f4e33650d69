from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "engage.inbox"
    verbose_name = "in-app inbox"
