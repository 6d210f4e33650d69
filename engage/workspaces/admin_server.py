"""Admin pages that act on the whole server, not on one workspace: superusers only.

Users and groups belong to no workspace, and neither does the periodic-task
schedule (django-celery-beat): a task there runs for every tenant, and a
hand-made one can be given any workspace's object ids. Scoping them would
still let a tenant's staff stop the message sweep for everyone or grant
themselves a permission, so for anyone but a superuser they do not exist:
hidden from the index, and every page answers 403.
"""

from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.http import HttpRequest
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

SERVER_MODELS = (
    User,
    Group,
    PeriodicTask,
    IntervalSchedule,
    CrontabSchedule,
    SolarSchedule,
    ClockedSchedule,
)


class SuperuserOnly:
    """Put first in a ModelAdmin's bases: everything it offers is for superusers."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)


def restrict_to_superusers(model: type[Model]) -> None:
    """Re-register ``model``'s admin (as its app registered it) for superusers only."""
    registered = type(admin.site.get_model_admin(model))
    admin.site.unregister(model)
    admin.site.register(
        model, type(f"SuperuserOnly{registered.__name__}", (SuperuserOnly, registered), {})
    )


def restrict_server_admins() -> None:
    """Called once by this app's admin module; auth and django_celery_beat come
    earlier in INSTALLED_APPS, so their admins are registered by then."""
    for model in SERVER_MODELS:
        restrict_to_superusers(model)
