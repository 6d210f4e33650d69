"""Journeys for operators: write a draft version's definition as JSON (each
error names the bad node's path), publish it, pause, resume or stop a
journey, and read who is where.

Every change goes through ``services`` like the API, so the same rules hold:
a definition is validated whole, a published version is read-only, and a
refused action changes nothing.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from engage.admin_display import CappedCountPaginator, pretty_json
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin, scoped_workspaces

from . import selectors, services
from .diagram import render as draw_diagram
from .models import Enrollment, Journey, JourneyVersion
from .preview import preview as preview_version
from .validation import InvalidDefinition, validate_definition


def _status_action(name: str, change, description: str):
    """An action moving each selected journey through ``change``; a journey
    whose status forbids it is named, and the others still move."""

    def action(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
        for journey in queryset:
            try:
                change(journey=journey)
            except services.JourneyConflict as exc:
                modeladmin.message_user(request, f"{journey}: {exc.reason}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{journey}: {description}.", messages.SUCCESS)

    action.__name__ = name
    return admin.action(description=f"{name.title()} the selected journeys")(action)


class VersionInline(admin.TabularInline):
    model = JourneyVersion
    fields = ["version", "published_at", "created_at"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    ordering = ["-number"]

    @admin.display(description="version")
    def version(self, obj: JourneyVersion) -> str:
        url = reverse("admin:journeys_journeyversion_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj)


@admin.register(Journey)
class JourneyAdmin(WorkspaceScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "workspace", "status", "live", "updated_at"]
    list_filter = ["status"]  # the scoping mixin adds the workspace, for superusers
    list_select_related = ["workspace", "live_version"]
    search_fields = ["name"]
    inlines = [VersionInline]
    # Adds the funnel per node (a chart of the dashboards app) under the fields.
    change_form_template = "admin/journeys/journey/change_form.html"
    actions = [
        _status_action("pause", services.pause, "paused"),
        _status_action("resume", services.resume, "live again"),
        _status_action("stop", services.stop, "stopped, its customers let out"),
    ]

    def get_fields(self, request, obj=None):
        fields = ["workspace", "name", "description"]
        return [*fields, "status", "live", "diagram"] if obj else fields

    def get_readonly_fields(self, request, obj=None):
        return ["workspace", "status", "live", "diagram"] if obj else []

    @admin.display(description="live version")
    def live(self, obj: Journey) -> str:
        return f"version {obj.live_version.number}" if obj.live_version_id else "none yet"

    @admin.display(description="diagram (live or newest version)")
    def diagram(self, obj: Journey) -> str:
        version = selectors.version_numbered(obj, None)
        if version is None:
            return "no version yet"
        return draw_diagram(version.definition, selectors.node_counts(version))

    def get_actions(self, request):
        # Deleting a journey with customers inside skips stopping it first.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        # The form has checked the name (its unique constraint) already.
        if change:
            services.change_journey(journey=obj, name=obj.name, description=obj.description)
        else:
            created = services.create_journey(
                workspace=obj.workspace, name=obj.name, description=obj.description
            )
            obj.pk, obj.status = created.pk, created.status

    def delete_model(self, request, obj):
        services.delete_journey(journey=obj)

    def get_deleted_objects(self, objs, request):
        """Its versions and enrollments go with it. Django would refuse: they
        are never deleted alone (no permission) and protect each other; the
        service removes them in the order their protection needs."""
        deleted, counts, _permissions, _protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), []

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.status in (Journey.DRAFT, Journey.STOPPED))


FORM_FIELDS = ["journey", "definition"]


class VersionForm(forms.ModelForm):
    class Meta:
        model = JourneyVersion
        fields = FORM_FIELDS
        help_texts = {"definition": "The graph as JSON (docs/journeys.md)."}

    def clean(self):
        data = super().clean()
        journey = data.get("journey") or getattr(self.instance, "journey", None)
        definition = data.get("definition")
        if journey is not None and "definition" in data:
            try:
                validate_definition(definition, workspace=journey.workspace)
            except InvalidDefinition as exc:
                for error in exc.errors:
                    self.add_error("definition", error)
        return data


@admin.register(JourneyVersion)
class JourneyVersionAdmin(WorkspaceScopedAdmin, admin.ModelAdmin):
    """Draft versions are edited as JSON; a published one is read-only."""

    workspace_path = "journey__workspace"
    form = VersionForm
    list_display = ["__str__", "number", "published_at", "created_at"]
    list_select_related = ["journey"]
    search_fields = ["journey__name"]
    actions = ["publish", "publish_and_migrate"]

    def get_fields(self, request, obj=None):
        return (
            ["journey", "number", "published_at", "definition", "preview", "in_flight"]
            if obj
            else FORM_FIELDS
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fixed = ["journey", "number", "published_at"]
        if obj.published_at:
            return [*fixed, "definition_json"]
        return [*fixed, "preview", "in_flight"]

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.published_at:
            return [(None, {"fields": ["journey", "number", "published_at", "definition_json"]})]
        return super().get_fieldsets(request, obj)

    @admin.display(description="before publishing")
    def preview(self, obj: JourneyVersion) -> str:
        return render_to_string("admin/journeys/preview.html", {"preview": preview_version(obj)})

    @admin.display(description="customers in flight")
    def in_flight(self, obj: JourneyVersion) -> str:
        """Where *Publish and migrate* would move the customers walking earlier
        versions (other mappings: the API's ``migrate``)."""
        moves = services.publish_plan(version=obj, migrate={})
        return render_to_string("admin/journeys/publish_plan.html", {"moves": moves})

    @admin.display(description="definition")
    def definition_json(self, obj: JourneyVersion) -> str:
        return pretty_json(obj.definition)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.published_at is None)

    def has_delete_permission(self, request, obj=None):
        # One draft at a time, from its page: a bulk deletion would not tell drafts apart.
        allowed = super().has_delete_permission(request, obj)
        return allowed and obj is not None and obj.published_at is None

    def delete_model(self, request, obj):
        services.delete_draft(version=obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "journey":
            kwargs["queryset"] = Journey.objects.filter(workspace__in=scoped_workspaces(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        version = services.save_draft(
            journey=obj.journey, definition=obj.definition, version=obj if change else None
        )
        obj.pk, obj.number = version.pk, version.number

    @admin.action(description="Publish the selected draft versions (customers inside stay)")
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._publish(request, queryset, None)

    @admin.action(
        description="Publish and migrate: customers inside move to the node of the same id "
        "(or leave, version_removed)"
    )
    def publish_and_migrate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._publish(request, queryset, {})

    def _publish(self, request: HttpRequest, queryset: QuerySet, migrate: dict | None) -> None:
        for version in queryset.order_by("number"):
            try:
                services.publish(version=version, migrate=migrate)
            except services.JourneyConflict as exc:
                self.message_user(request, f"{version}: {exc.reason}", messages.ERROR)
            except services.JourneyInvalid as exc:
                self.message_user(request, f"{version} was not published: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{version} is published.", messages.SUCCESS)


@admin.register(Enrollment)
class EnrollmentAdmin(WorkspaceScopedAdmin, admin.ModelAdmin):
    """Who is in a journey and where: written by entry and the engine only."""

    list_display = ["id", "journey", "version_number", "profile_id", "node_id", "status"]
    list_filter = ["end_reason", "waiting"]
    list_select_related = ["journey", "version"]
    search_fields = ["=profile__id", "=journey__name"]
    ordering = ["-id"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    fields = [
        "journey",
        "version_number",
        "profile",
        "node_id",
        "status",
        "waiting",
        "waiting_for",
        "next_run_at",
        "visit",
        "state",
        "trigger_event_id",
        "entered_at",
        "ended_at",
    ]
    readonly_fields = fields

    @admin.display(description="version")
    def version_number(self, obj: Enrollment) -> int:
        return obj.version.number

    @admin.display(description="status")
    def status(self, obj: Enrollment) -> str:
        return obj.end_reason if obj.ended_at else selectors.ACTIVE

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
