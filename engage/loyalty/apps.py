from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "engage.loyalty"
    verbose_name = "loyalty"
