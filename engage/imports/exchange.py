"""Import and export in the admin, through django-import-export.

What it is used for: exporting customers with their traits and identities,
consent history, suppressions and static segment members as CSV, and
importing small lists (static segment members). Every exported cell passes
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

from import_export import resources
from import_export.admin import ExportMixin
from import_export.fields import Field
from import_export.formats import base_formats

from engage.messaging.models import Consent
from engage.privacy.models import Suppression
from engage.profiles.models import Profile
from engage.segments.models import SegmentMembership

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
