from django.apps import AppConfig


class DemoConfig(AppConfig):
    """``manage.py demo``: a workspace with a sample customer, for a first look.

    An app of its own because the demo reaches into several (ingestion,
    processing, profiles, workspaces) and no app should depend on it.
    """

    name = "engage.demo"
