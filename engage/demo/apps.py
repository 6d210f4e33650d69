from django.apps import AppConfig


class DemoConfig(AppConfig):
    """``manage.py demo``: a workspace with a sample customer, a journey she
    walks, and the local outbox that keeps the emails it sends, for a first look.

    An app of its own because the demo reaches into several (ingestion,
    processing, profiles, journeys, workspaces) and no app should depend on
    it; only the email channel's ``outbox`` delivery writes to its outbox,
    and the start page shows what the demo registers with it.
    """

    name = "engage.demo"
    verbose_name = "Demo"

    def ready(self):
        from engage.server.start import register_section

        from .access import start_page_section

        register_section("demo", start_page_section)
