"""Privacy records: the trail of exports and erasures (read-only), and the
suppressed identifiers (hashes only).

Erasing a customer starts from the customer's page in the profile admin. A
suppression is found by typing the identifier itself (it is hashed the way
erasure hashed it) and may be deleted, to let a customer who signs up again
come back; nothing else here is edited or deleted.
"""

from django.contrib import admin

from engage.admin_display import CappedCountPaginator
from engage.imports.exchange import SpreadsheetExport, SuppressionResource
from engage.profiles.identifiers import InvalidIdentifier, normalize
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin, scoped_workspaces

from .hashing import identity_hash
from .models import PrivacyRequest, Suppression


class RecordAdmin(WorkspaceScopedAdmin):
    """Rows the privacy services write; never added or edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(RecordAdmin):
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

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was done


@admin.register(Suppression)
class SuppressionAdmin(SpreadsheetExport, RecordAdmin):
    resource_classes = [SuppressionResource]
    list_display = ["created_at", "kind", "short_hash", "workspace"]
    list_filter = ["kind"]
    list_select_related = ["workspace"]
    ordering = ["-created_at"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    search_fields = ["=identity_hash"]  # shows the box; get_search_results does the work
    search_help_text = "The identifier as the customer gave it (email, phone, id), or its hash."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        hashes = {term.lower()}
        kinds = set(queryset.values_list("kind", flat=True).distinct())
        for workspace in scoped_workspaces(request):
            for kind in kinds:
                try:
                    value = normalize(kind, term, phone_region=workspace.default_phone_region)
                except InvalidIdentifier:
                    continue
                hashes.add(identity_hash(workspace.pk, kind, value))
        return queryset.filter(identity_hash__in=hashes), False

    @admin.display(description="identifier hash")
    def short_hash(self, obj: Suppression) -> str:
        return f"{obj.identity_hash[:16]}…"
