from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "engage.journeys"
