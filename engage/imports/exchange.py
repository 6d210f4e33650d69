"""Import and export in the admin, through django-import-export.

What it is used for: exporting customers with their traits and identities,
consent history, suppressions and static segment members as CSV, and
importing lists of static segment members (``segment, kind, value`` rows,
checked whole in the preview before anything is added, then added through
the segments service). Every exported cell passes
through ``escape_formula`` (``SpreadsheetSafeResource``), and both buttons
ask for a permission of their own (``BulkPermissions``): ``imports.import_data``
and ``imports.export_data``, apart from viewing or changing rows one at a time;
without it a staff user sees no button, and the URL answers 403.

What it is not used for: importing customers or events. django-import-export
reads the whole upload into a tablib ``Dataset`` in memory, then keeps every
row's result for its preview page and saves row by row through the ORM; at a
million rows that is gigabytes and hours, and it would bypass ingestion (the
events, merges and segments that follow a customer). Those files go through
the streaming runner instead (``engage.events.importing``: CSV read as it
goes, COPY in batches, an ``ImportRun`` with progress), from an importer's
page in the admin or ``manage.py import_source``.
"""

import json
from collections import defaultdict

from django.core.exceptions import ValidationError
from import_export import resources
from import_export.admin import ExportMixin, ImportExportMixin
from import_export.fields import Field
from import_export.formats import base_formats

from engage.messaging.models import Consent
from engage.privacy.models import Suppression
from engage.profiles.identifiers import InvalidIdentifier
from engage.profiles.models import Profile
from engage.profiles.selectors import profile_by_identifier
from engage.segments.models import Segment, SegmentMembership
from engage.segments.services import upload_members

from .spreadsheet import escape_formula

IMPORT_PERMISSION = "imports.import_data"
EXPORT_PERMISSION = "imports.export_data"


class BulkPermissions:
    """For a ModelAdmin with django-import-export's mixins: the buttons and
    views ask for engage's import and export permissions, and offer CSV."""

    formats = [base_formats.CSV]

    def has_import_permission(self, request) -> bool:
        return request.user.has_perm(IMPORT_PERMISSION)

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm(EXPORT_PERMISSION)


class SpreadsheetExport(BulkPermissions, ExportMixin):
    """An export button on a ModelAdmin's list (put it first among the bases);
    the export holds the rows the list would show the user, workspace
    scoping included."""


class SpreadsheetImportExport(BulkPermissions, ImportExportMixin):
    """Import and export buttons on a ModelAdmin's list (first among the bases)."""

    # The rows imported are not saved one by one (see StaticMemberImport):
    # the admin's log would have no object to point at.
    skip_admin_log = True


class SpreadsheetSafeResource(resources.ModelResource):
    """Exports each cell as a spreadsheet shows it as text, never as a formula."""

    def export_field(self, field, instance, **kwargs):
        return escape_formula(super().export_field(field, instance, **kwargs))


class CustomerResource(SpreadsheetSafeResource):
    traits = Field(column_name="traits")
    identities = Field(column_name="identities")

    class Meta:
        model = Profile
        fields = ("id", "workspace", "traits", "identities", "first_seen_at", "last_seen_at")
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        return queryset.prefetch_related("identities")

    def dehydrate_traits(self, profile: Profile) -> str:
        return json.dumps(profile.traits, ensure_ascii=False, sort_keys=True)

    def dehydrate_identities(self, profile: Profile) -> str:
        """``kind:value`` pairs, space-separated (no value holds a space)."""
        pairs = sorted((i.kind, i.value) for i in profile.identities.all())
        return " ".join(f"{kind}:{value}" for kind, value in pairs)


class ConsentResource(SpreadsheetSafeResource):
    class Meta:
        model = Consent
        fields = (
            "id",
            "workspace",
            "profile",
            "channel",
            "topic",
            "status",
            "source",
            "created_at",
        )
        export_order = fields


class SuppressionResource(SpreadsheetSafeResource):
    class Meta:
        model = Suppression
        fields = ("id", "workspace", "kind", "identity_hash", "created_at")
        export_order = fields


class StaticMemberResource(SpreadsheetSafeResource):
    segment = Field(attribute="segment__name", column_name="segment")

    class Meta:
        model = SegmentMembership
        fields = ("segment", "profile", "entered_at", "exited_at")
        export_order = fields


class StaticMemberImport(resources.ModelResource):
    """Rows ``segment, kind, value``: the customer with that identifier
    becomes a member of the static segment of that name, among the
    workspaces of the user importing (``workspace_ids``). Each row is checked
    in the preview, with the reason by column; the members are added after
    the last row, per segment, by ``upload_members``, as the API adds them."""

    segment = Field(column_name="segment")
    kind = Field(column_name="kind")
    value = Field(column_name="value")

    class Meta:
        model = SegmentMembership
        fields = ("segment", "kind", "value")
        skip_diff = True

    def __init__(self, *, workspace_ids=(), **kwargs):
        super().__init__(**kwargs)
        self.workspace_ids = list(workspace_ids)
        self.uploads: dict[Segment, list[dict]] = defaultdict(list)

    def get_instance(self, instance_loader, row):
        return None  # every row is a new member (upload_members skips those already in)

    def import_instance(self, instance, row, **kwargs):
        name = str(row.get("segment") or "").strip()
        segments = list(
            Segment.objects.filter(
                workspace_id__in=self.workspace_ids, name=name, kind=Segment.STATIC
            ).select_related("workspace")[:2]
        )
        if len(segments) != 1:
            where = "no" if not segments else "more than one"
            raise ValidationError({"segment": f"{where} static segment of this name"})
        segment = segments[0]
        kind, value = str(row.get("kind") or "").strip(), str(row.get("value") or "").strip()
        try:
            profile = profile_by_identifier(workspace=segment.workspace, kind=kind, value=value)
        except InvalidIdentifier as exc:
            field = "kind" if exc.kind == "kind" else "value"
            raise ValidationError({field: exc.reason}) from None
        if profile is None:
            raise ValidationError({"value": f"no customer with this {kind} in the workspace"})
        instance.segment, instance.profile = segment, profile
        self.uploads[segment].append({"kind": kind, "value": value})

    def save_instance(self, instance, is_create, row, **kwargs):
        """Nothing per row: the members are added together in ``after_import``."""

    def after_import(self, dataset, result, **kwargs):
        if kwargs.get("dry_run") or result.has_errors() or result.has_validation_errors():
            return
        for segment, identifiers in self.uploads.items():
            upload_members(segment=segment, identifiers=identifiers)
