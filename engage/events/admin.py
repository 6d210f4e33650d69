"""Events, read-only: they are what customers did, not something to edit.

Deleting events is the erasure service's job (a customer's events go with the
customer). The list never counts the whole table: a workspace may hold
hundreds of millions of rows (``CappedCountPaginator``), and it is ordered by
id, newest received first, which the primary key index serves. A customer's
events are best read on the profile's timeline page.

A quarantined event (its stored row cannot be loaded or shown, see
``quarantine``) is listed with its reason and without its payload: rows are
loaded through ``quarantine.load_events``, so one bad row cannot break the
list or its own page. ``manage.py quarantine_events`` finds such rows.
"""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList

from engage.admin_display import CappedCountPaginator, pretty_json
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from .models import Event
from .quarantine import load_events


class ProcessedFilter(admin.SimpleListFilter):
    title = "processed"
    parameter_name = "processed"

    def lookups(self, request, model_admin):
        return [
            ("yes", "processed"),
            ("no", "waiting for processing"),
            ("quarantined", "quarantined: cannot be loaded or shown"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(processed_at__isnull=False, quarantined_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(processed_at__isnull=True)
        if self.value() == "quarantined":
            return queryset.filter(quarantined_at__isnull=False)
        return queryset


class EventChangeList(ChangeList):
    """Loads the page's rows so that a row that cannot be read is shown quarantined."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = load_events(self.result_list)


@admin.register(Event)
class EventAdmin(WorkspaceScopedAdmin):
    list_display = [
        "received_at",
        "timestamp",
        "type",
        "name",
        "profile_id",
        "channel",
        "workspace",
        "message_id",
        "quarantine",
    ]
    list_filter = ["type", ProcessedFilter]
    list_select_related = ["workspace"]
    search_fields = ["=message_id", "=user_id", "=anonymous_id"]
    search_help_text = "Exact message id, user id or anonymous id."
    ordering = ["-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    exclude = ["properties", "traits", "context", "warnings"]
    readonly_fields = ["pretty_properties", "pretty_traits", "pretty_context", "pretty_warnings"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changelist(self, request, **kwargs):
        return EventChangeList

    def get_object(self, request, object_id, from_field=None):
        try:
            pk = int(object_id)
        except ValueError:
            return None
        events = load_events(self.get_queryset(request).filter(pk=pk))
        return events[0] if events else None

    @admin.display(description="quarantined")
    def quarantine(self, obj: Event) -> str:
        return obj.quarantine_reason or ""

    @admin.display(description="properties")
    def pretty_properties(self, obj: Event) -> str:
        return _payload(obj, obj.properties)

    @admin.display(description="traits")
    def pretty_traits(self, obj: Event) -> str:
        return _payload(obj, obj.traits)

    @admin.display(description="context")
    def pretty_context(self, obj: Event) -> str:
        return _payload(obj, obj.context)

    @admin.display(description="warnings")
    def pretty_warnings(self, obj: Event) -> str:
        return _payload(obj, obj.warnings)


def _payload(event: Event, value) -> str:
    if event.is_quarantined:
        return "Not shown: the event is quarantined (see the reason)."
    return pretty_json(value)
