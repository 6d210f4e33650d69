"""Admin for workspaces and their API keys.

Keys are created through the services, so they are stored hashed exactly as
``create_workspace`` stores them; the plaintext is put in a one-time admin
message and exists nowhere else. Keys are listed by prefix only, and revoked
rather than deleted, so a leaked key can be traced to the row that stopped it.
"""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest

from .admin_scoping import WorkspaceScopedAdmin
from .admin_server import restrict_server_admins
from .models import ApiKey, Workspace
from .services import create_api_key, create_default_keys, revoke_api_key

restrict_server_admins()


def _show_key_once(request: HttpRequest, workspace: Workspace, kind: str, raw: str) -> None:
    messages.warning(
        request,
        f"New {kind} key for {workspace.name}: {raw} — copy it now, it is not shown again.",
    )


class ApiKeyInline(admin.TabularInline):
    """The workspace's keys, read-only: the list's actions issue keys, the key list revokes."""

    model = ApiKey
    fields = ["prefix", "kind", "name", "created_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    workspace_path = ""
    list_display = ["name", "created_at", "active_keys", "rate_limit_per_second"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    inlines = [ApiKeyInline]
    actions = ["issue_write_key", "issue_secret_key"]
    fieldsets = [
        (None, {"fields": ["name", "members"]}),
        (
            "Ingestion and identity resolution",
            {
                "fields": [
                    "rate_limit_per_second",
                    "default_phone_region",
                    "identity_limits",
                    "blocked_identifiers",
                ]
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        # Only superusers manage who belongs where (and see the list of users).
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [(None, {"fields": ["name"]}), *fieldsets[1:]]

    def has_delete_permission(self, request, obj=None):
        # Deleting a workspace deletes every customer in it; not a button.
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_active_keys=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=True)))
        )

    @admin.display(description="active keys", ordering="_active_keys")
    def active_keys(self, obj: Workspace) -> int:
        return obj._active_keys

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # A new workspace gets its keys right away, as `create_workspace` does.
            for kind, raw in create_default_keys(obj).items():
                _show_key_once(request, obj, kind, raw)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Staff who create a workspace can see it; superusers need no membership.
        if not change and not request.user.is_superuser:
            form.instance.members.add(request.user)

    def _issue(self, request, queryset, kind: str) -> None:
        with transaction.atomic():
            for workspace in queryset.order_by("name"):
                _, raw = create_api_key(
                    workspace=workspace, kind=kind, name=f"issued by {request.user.get_username()}"
                )
                _show_key_once(request, workspace, kind, raw)

    @admin.action(description="Issue a new write key (ingest only)", permissions=["change"])
    def issue_write_key(self, request, queryset):
        self._issue(request, queryset, ApiKey.WRITE)

    @admin.action(description="Issue a new secret key (read and manage)", permissions=["change"])
    def issue_secret_key(self, request, queryset):
        self._issue(request, queryset, ApiKey.SECRET)


@admin.register(ApiKey)
class ApiKeyAdmin(WorkspaceScopedAdmin):
    """Keys by prefix; the hash never leaves the database, not even as a filter."""

    list_display = ["prefix", "kind", "workspace", "name", "created_at", "revoked_at"]
    list_filter = ["kind", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["workspace"]
    search_fields = ["prefix", "name", "workspace__name"]
    fields = ["workspace", "prefix", "kind", "name", "created_at", "revoked_at"]
    readonly_fields = ["workspace", "prefix", "kind", "created_at", "revoked_at"]
    unfilterable_fields = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are issued from the workspace list, so the plaintext is shown once

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row stays as the record

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            revoke_api_key(key=key)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
