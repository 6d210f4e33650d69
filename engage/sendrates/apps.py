from django.apps import AppConfig


class SendRatesConfig(AppConfig):
    name = "engage.sendrates"
    verbose_name = "provider send rates"
