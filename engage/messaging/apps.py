from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "engage.messaging"

    def ready(self):
        from . import receivers  # noqa: F401 (connects the merge, split, ticket and ESP tracking receivers)
        from .preferences import template_urls
        from .rendering import register_context

        register_context("preferences_url", template_urls, sees_template=True)
