from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "engage.loyalty"
    verbose_name = "loyalty"

    def ready(self):
        from engage.messaging.rendering import register_context

        from . import receivers  # noqa: F401 - connects the signal receivers
        from .selectors import template_context

        register_context("loyalty", template_context)
