from django.apps import AppConfig


class DemoConfig(AppConfig):
    """``manage.py demo``: a workspace with a sample customer, a journey she
    walks, and the local outbox that keeps the emails it sends, for a first look.

    An app of its own because the demo reaches into several (ingestion,
    processing, profiles, journeys, workspaces) and no app should depend on
    it; only the email channel's ``outbox`` delivery writes to its outbox.
    """

    name = "engage.demo"
    verbose_name = "Demo"
