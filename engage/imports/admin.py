"""Import runs in the admin: history, and the progress of those under way.

Runs are started from an importer's configuration (plugins admin), the
catalog's upload or ``manage.py import_source``; here they are only read. Static segments'
members are listed here too, to export them (``exchange``). A list or page showing
a run still under way reloads itself every few seconds (an HTTP ``Refresh``
header), so its progress bar moves without a script.
"""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from engage.admin_display import ReadOnly
from engage.events.importing import describe_problem
from engage.segments.models import Segment, SegmentMembership
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin, scoped_workspaces

from .exchange import SpreadsheetImportExport, StaticMemberImport, StaticMemberResource
from .models import ImportRun

REFRESH_SECONDS = 3


@admin.register(ImportRun)
class ImportRunAdmin(WorkspaceScopedAdmin):
    list_display = [
        "id",
        "importer_id",
        "workspace",
        "status",
        "progress",
        "read",
        "stored",
        "duplicates",
        "invalid",
        "file_name",
        "started_by",
        "created_at",
    ]
    list_filter = ["status", "importer_id"]
    list_select_related = ["workspace", "started_by"]
    fields = [
        "importer_id",
        "workspace",
        "status",
        "progress",
        "mode",
        "file_name",
        "file_size",
        "read",
        "stored",
        "duplicates",
        "invalid",
        "problems",
        "failure",
        "started_by",
        "created_at",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="progress")
    def progress(self, run: ImportRun) -> str:
        phase = "checking, " if run.phase == "checking" and not run.finished else ""
        if run.percent is None:
            return f"{phase}{run.read:,} read"
        return format_html(
            '<progress max="100" value="{}"></progress> {}{}%', run.percent, phase, run.percent
        )

    @admin.display(description="problems")
    def problems(self, run: ImportRun) -> str:
        more = run.invalid - len(run.errors)
        listed = format_html_join("", "<li>{}</li>", ((describe_problem(e),) for e in run.errors))
        tail = format_html("<li>and {:,} more</li>", more) if more > 0 else ""
        return format_html("<ul>{}{}</ul>", listed, tail) if run.errors else "-"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        runs = getattr(response, "context_data", {}).get("cl")
        if runs is not None and any(not run.finished for run in runs.result_list):
            response["Refresh"] = str(REFRESH_SECONDS)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        run = getattr(response, "context_data", {}).get("original")
        if run is not None and not run.finished:
            response["Refresh"] = str(REFRESH_SECONDS)
        return response


@admin.register(SegmentMembership)
class StaticMemberAdmin(ReadOnly, SpreadsheetImportExport, WorkspaceScopedAdmin):
    """Who is in each static segment (uploaded lists), to export, and lists
    to import into them; dynamic segments' members follow from their rules."""

    workspace_path = "segment__workspace"
    resource_classes = [StaticMemberResource]
    list_display = ["segment", "profile_id", "entered_at", "exited_at"]
    list_select_related = ["segment"]
    search_fields = ["segment__name"]
    ordering = ["segment__name", "-entered_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(segment__kind=Segment.STATIC)

    def get_import_resource_classes(self, request):
        return [StaticMemberImport]

    def get_import_resource_kwargs(self, request, **kwargs):
        return {"workspace_ids": list(scoped_workspaces(request).values_list("pk", flat=True))}
