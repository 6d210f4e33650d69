"""The product catalog, and recommendations drawn from it for messages."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "engage.catalog"
    verbose_name = "catalog"

    def ready(self):
        from engage.messaging.rendering import register_context

        from . import receivers  # noqa: F401 - connects the signal receivers
        from .context import recommendations_context

        register_context("recommendations", recommendations_context)
