"""Privacy records, read-only: the trail of exports and erasures, and the
suppressed identifiers (hashes only). Erasing a customer starts from the
customer's page in the profile admin; nothing here is edited or deleted.
"""

from django.contrib import admin

from engage.events.admin import CappedCountPaginator
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from .models import PrivacyRequest, Suppression


class ReadOnlyAdmin(WorkspaceScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "profile_id",
        "workspace",
        "profiles_count",
        "identities_count",
        "events_count",
        "requested_by",
    ]
    list_filter = ["kind"]
    list_select_related = ["workspace"]
    search_fields = ["=profile_id", "requested_by"]
    ordering = ["-created_at"]


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "short_hash", "workspace"]
    list_filter = ["kind"]
    list_select_related = ["workspace"]
    ordering = ["-created_at"]
    show_full_result_count = False
    paginator = CappedCountPaginator

    @admin.display(description="identifier hash")
    def short_hash(self, obj: Suppression) -> str:
        return f"{obj.identity_hash[:16]}…"
