from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "engage.imports"
    verbose_name = "imports"
