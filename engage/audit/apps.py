from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "engage.audit"
    verbose_name = "audit trail"
