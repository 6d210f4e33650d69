"""Segments for operators: build a rule tree with validation errors naming
the bad node, read it back as a sentence, preview its count and a few members
before saving, and see its size over time (a chart of the dashboards app).

Saving goes through ``services.save_segment`` like the API, so the admin
stores the same dependency index and queues the same refresh.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse

from engage.api.errors import error_body, path_errors
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin, scoped_workspaces

from . import services
from .models import Segment, SegmentMembership
from .summary import describe
from .validation import InvalidSegment, validate_rules

SAMPLE_MEMBERS = 10


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["workspace", "name", "description", "kind", "rules"]
        help_texts = {
            "rules": "JSON rule tree (docs/segments.md); empty for a static segment.",
        }

    def clean(self):
        data = super().clean()
        kind = data.get("kind") or (self.instance.kind if self.instance.pk else None)
        workspace, rules = data.get("workspace"), data.get("rules")
        if kind == Segment.STATIC and rules is not None:
            self.add_error("rules", "a static segment has no rules (upload its members)")
        elif kind == Segment.DYNAMIC and workspace is not None:
            if rules is None:
                self.add_error("rules", "is required for a dynamic segment")
                return data
            try:
                validate_rules(rules, workspace_id=workspace.pk, segment_id=self.instance.pk)
            except InvalidSegment as exc:
                for error in exc.errors:
                    self.add_error("rules", error)
        return data


class SegmentMembershipInline(admin.TabularInline):
    """Current members, newest first (a sample: big segments are browsed via the API)."""

    model = SegmentMembership
    fields = ["profile", "entered_at"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    verbose_name_plural = f"members (latest {SAMPLE_MEMBERS})"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(exited_at__isnull=True)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        base = formset.get_queryset

        def latest(formset_self):
            return base(formset_self).order_by("-entered_at")[:SAMPLE_MEMBERS]

        formset.get_queryset = latest
        return formset


@admin.register(Segment)
class SegmentAdmin(WorkspaceScopedAdmin, admin.ModelAdmin):
    form = SegmentForm
    list_display = ["name", "workspace", "kind", "member_count", "refreshed_at"]
    list_filter = ["kind"]  # the scoping mixin adds the workspace, for superusers
    search_fields = ["name"]
    inlines = [SegmentMembershipInline]
    change_form_template = "admin/segments/segment/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        fixed = ["summary", "member_count", "refreshed_at"]
        return [*fixed, "workspace", "kind"] if obj else fixed

    def get_fields(self, request, obj=None):
        fields = ["workspace", "name", "description", "kind", "rules"]
        return [*fields, "summary", "member_count", "refreshed_at"] if obj else fields

    @admin.display(description="in plain words")
    def summary(self, obj: Segment) -> str:
        names = dict(
            Segment.objects.filter(workspace_id=obj.workspace_id).values_list("id", "name")
        )
        return describe(obj.rules, segment_names=names)

    def save_model(self, request, obj, form, change):
        # obj holds the form's values; the service validates, indexes and saves it.
        services.save_segment(
            workspace=obj.workspace,
            segment=obj,
            name=obj.name,
            rules=obj.rules,
            description=obj.description,
        )

    def get_actions(self, request):
        # Bulk deletion would skip the check that no other segment uses one.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        segment = self.get_object(request, object_id)
        users = services.segments_using(segment) if segment else []
        if users:
            self.message_user(
                request,
                f"“{segment}” was not deleted: segment(s) {', '.join(users)} use it.",
                messages.ERROR,
            )
            return redirect("admin:segments_segment_change", segment.pk)
        return super().delete_view(request, object_id, extra_context)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="segments_segment_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """Count and sample of posted rules, for the Preview button; nothing is saved."""
        if request.method != "POST" or not self.has_view_permission(request):
            raise Http404
        workspace = scoped_workspaces(request).filter(pk=request.POST.get("workspace")).first()
        if workspace is None:
            return JsonResponse(error_body({"workspace": ["choose a workspace"]}), status=400)
        try:
            rules = json.loads(request.POST.get("rules") or "null")
        except ValueError as exc:
            body = error_body({"rules": [f"not valid JSON ({exc})"]})
            return JsonResponse(body, status=400)
        segment_id = request.POST.get("segment") or None
        try:
            result = services.preview(
                workspace=workspace,
                rules=rules,
                segment_id=int(segment_id) if segment_id else None,
            )
        except InvalidSegment as exc:
            return JsonResponse(error_body(path_errors(exc.errors)), status=400)
        except ValueError as exc:  # the segment id posted is not a number
            return JsonResponse(error_body({"segment": [str(exc)]}), status=400)
        names = dict(Segment.objects.filter(workspace=workspace).values_list("id", "name"))
        sample = [
            {"id": pid, "url": reverse("admin:profiles_profile_change", args=[pid])}
            for pid in result.sample
        ]
        return JsonResponse(
            {
                "count": result.count,
                "sample": sample,
                "summary": describe(rules, segment_names=names),
            }
        )
