"""The audit trail in the admin: read-only, each operator seeing their
workspaces' entries; and the mixin that records what an admin form saves."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from engage.admin_display import ReadOnly
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from .models import AuditEntry
from .services import record, snapshot

CELL = '<td><pre style="white-space:pre-wrap;margin:0">{}</pre></td>'


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnly, WorkspaceScopedAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_repr", "workspace"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor"]
    ordering = ["-at", "-id"]
    fields = [
        "at",
        "workspace",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "changes",
    ]
    readonly_fields = fields

    @admin.display(description="before → after")
    def changes(self, entry: AuditEntry):
        """Each field that differs, with its value before and after."""
        before, after = entry.before or {}, entry.after or {}
        rows = [
            (name, _show(before.get(name)), _show(after.get(name)))
            for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)
        ]
        if not rows:
            return "no field changed"
        return format_html(
            "<table><tr><th>field</th><th>before</th><th>after</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td>" + CELL + CELL + "</tr>", rows),
        )


def _show(value) -> str:
    return "—" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


class AuditedAdmin(admin.ModelAdmin):
    """Records each add, change and delete made through the admin form."""

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        record(
            workspace_id=obj.workspace_id,
            action="changed" if change else "created",
            obj=obj,
            before=before,
            after=snapshot(obj),
        )

    def delete_model(self, request, obj):
        record(workspace_id=obj.workspace_id, action="deleted", obj=obj, before=snapshot(obj))
        super().delete_model(request, obj)
