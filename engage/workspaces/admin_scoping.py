"""Workspace scoping for the Django admin: staff see only their workspaces.

engage is multi-tenant, and the admin is the one place where one login can
reach every tenant's rows. Superusers see everything; any other staff user
sees only rows of the workspaces listed in ``Workspace.members`` for them, in
changelists, change pages, search, foreign-key choices and custom views.

Use it in any app's admin by putting the mixin first and saying how a row
reaches its workspace, as a Django lookup path::

    from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

    @admin.register(Consent)
    class ConsentAdmin(WorkspaceScopedAdmin, admin.ModelAdmin):
        workspace_path = "profile__workspace"  # or "workspace" (the default)

``workspace_path = ""`` means the row is itself a workspace. Fields named in
``unfilterable_fields`` cannot be filtered on from the URL (400): a filter is
an oracle, and ``?settings__token__startswith=a`` answers one guess at a time. A row outside the
user's workspaces is simply not in ``get_queryset``: its change page answers
like a missing row, and custom views should fetch through
``scoped_object_or_404``. Foreign keys to ``Workspace`` offer only the user's
workspaces; ``scoped_workspaces(request)`` gives them to custom code.
Superusers also get a filter by workspace in every list.
"""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import JSONField, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpRequest

from .models import Workspace


def scoped_workspaces(request: HttpRequest) -> QuerySet[Workspace]:
    """The workspaces ``request.user`` may see in the admin."""
    if request.user.is_superuser:
        return Workspace.objects.all()
    return Workspace.objects.filter(members=request.user)


def _workspace_ids(request: HttpRequest) -> list[int]:
    """The ids of the user's workspaces, read once per request."""
    if not hasattr(request, "_engage_workspace_ids"):
        request._engage_workspace_ids = list(
            scoped_workspaces(request).values_list("pk", flat=True)
        )
    return request._engage_workspace_ids


class WorkspaceScopedAdmin(admin.ModelAdmin):
    """ModelAdmin whose rows are limited to the user's workspaces (see the module doc)."""

    workspace_path = "workspace"
    unfilterable_fields: tuple[str, ...] = ()

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """``queryset`` limited to rows of the user's workspaces.

        The workspace ids are read first and given as a list, not joined: with
        ``workspace_id IN (3)`` the planner can walk a (workspace, ...) index
        in order instead of sorting every row the join returns.
        """
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.workspace_path or 'pk'}__in": _workspace_ids(request)})

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scope(request, super().get_queryset(request))

    def lookup_allowed(self, lookup: str, value, request: HttpRequest) -> bool:
        # Django allows any lookup on a local field, JSON key paths included;
        # False makes the changelist answer 400 (DisallowedModelAdminLookup).
        parts = lookup.split(LOOKUP_SEP)
        if parts[0] in self.unfilterable_fields:
            return False
        if _unsupported_json_lookup(self.model, parts):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_list_filter(self, request: HttpRequest):
        # A filter by workspace lists every workspace: superusers only.
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and self.workspace_path:
            filters.append(self.workspace_path)
        return filters

    def scoped_object_or_404(self, request: HttpRequest, object_id):
        """The row ``object_id`` if the user may see it, else Http404."""
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Workspace:
            kwargs["queryset"] = scoped_workspaces(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _unsupported_json_lookup(model, parts: list[str]) -> bool:
    """Whether ``parts`` is a JSON containment lookup the database cannot run
    (SQLite has no ``contains`` on JSON): refused, rather than a 500."""
    if connection.features.supports_json_field_contains:
        return False
    try:
        field = model._meta.get_field(parts[0])
    except FieldDoesNotExist:
        return False
    return isinstance(field, JSONField) and parts[-1] in ("contains", "contained_by")
