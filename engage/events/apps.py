from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "engage.events"
