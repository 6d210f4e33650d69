from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "engage.privacy"

    def ready(self):
        from engage.events import suppression

        from . import selectors

        suppression.register(
            workspaces_with_suppressions=selectors.workspaces_with_suppressions,
            suppressed=selectors.suppressed,
        )
