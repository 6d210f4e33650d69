"""Broadcasts for operators: each one's status and progress (members handed
out, entered or sent, refused by the journey's entry rules, its messages by
status), and schedule, pause, resume or cancel selected ones.

Broadcasts are created through the API; every change here goes through
``services`` like the API's, so a status that forbids it is named and
changes nothing.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from . import selectors, services
from .models import Broadcast


def _status_action(name: str, change, description: str):
    """An action moving each selected broadcast through ``change``; one whose
    status forbids it is named with the reason, and the others still move."""

    def action(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
        for broadcast in queryset:
            try:
                change(broadcast=broadcast)
            except services.BroadcastConflict as exc:
                modeladmin.message_user(request, f"{broadcast}: {exc.reason}", messages.ERROR)
            except services.BroadcastInvalid as exc:
                modeladmin.message_user(request, f"{broadcast}: {exc}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{broadcast}: {description}.", messages.SUCCESS)

    action.__name__ = name
    return admin.action(
        description=f"{name.title()} the selected broadcasts", permissions=["change"]
    )(action)


@admin.register(Broadcast)
class BroadcastAdmin(WorkspaceScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "workspace", "status", "when", "targeted", "entered", "refused"]
    list_filter = ["status"]  # the scoping mixin adds the workspace, for superusers
    list_select_related = ["workspace"]
    search_fields = ["name"]
    actions = [
        _status_action("schedule", services.schedule_broadcast, "scheduled"),
        _status_action("pause", services.pause_broadcast, "paused"),
        _status_action("resume", services.resume_broadcast, "resumed"),
        _status_action("cancel", services.cancel_broadcast, "cancelled, with its unsent messages"),
    ]
    fields = [
        "workspace",
        "name",
        "segment",
        "action",
        "journey",
        "template",
        "category",
        "when",
        "rate",
        "status",
        "error",
        "run",
        "next_slice_at",
        "targeted",
        "entered",
        "refused",
        "messages",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Read-only pages; the actions above are the changes.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="when")
    def when(self, obj: Broadcast) -> str:
        if obj.schedule == Broadcast.ONCE:
            return f"once, {obj.send_at:%Y-%m-%d %H:%M} UTC" if obj.send_at else "once"
        where = "each customer's" if obj.timezone == Broadcast.CUSTOMER else "the workspace's"
        at = f"{obj.local_time:%H:%M}" if obj.local_time else "?"
        return f"daily at {at} in {where} timezone"

    @admin.display(description="messages by status")
    def messages(self, obj: Broadcast) -> str:
        counts = selectors.message_counts(obj)
        return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "none"
