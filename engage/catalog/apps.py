from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "engage.catalog"
    verbose_name = "catalog"
