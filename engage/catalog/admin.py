"""The catalog in the admin: products by workspace, a CSV upload that
starts an import run of the ``csv_catalog`` importer (checked, run in the
background with its progress, each bad row reported by line and column on
the run's page), and an export that spreadsheets cannot turn into formulas.
Upload and export need the bulk permissions every admin import and export
asks for (``imports.import_data``, ``imports.export_data``), apart from
changing products one by one."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from import_export.admin import ExportMixin

from engage.events.importing import MODES, ImportNotPossible
from engage.imports.exchange import EXPORT_PERMISSION, IMPORT_PERMISSION
from engage.imports.models import ImportRun
from engage.imports.services import start_import
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin, scoped_workspaces

from .models import Product
from .resources import ProductResource
from .validation import FIELDS

#: the importer plugin the upload runs (plugins/csv_catalog.py)
CATALOG_IMPORTER = "csv_catalog"


class UploadForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=None)
    file = forms.FileField(
        help_text=f"CSV, UTF-8, with a header row: product_id, {', '.join(FIELDS)}."
    )
    mode = forms.ChoiceField(
        choices=[(mode, mode.replace("_", " ")) for mode in MODES],
        help_text="Apply valid: store every good row and list the bad ones. "
        "All or nothing: store nothing if one row is bad.",
    )

    def __init__(self, *args, workspaces, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workspace"].queryset = workspaces


@admin.register(Product)
class ProductAdmin(ExportMixin, WorkspaceScopedAdmin):
    resource_classes = [ProductResource]
    list_display = ["product_id", "title", "category", "price", "currency", "in_stock", "workspace"]
    list_filter = ["in_stock", "category"]
    search_fields = ["product_id", "title"]
    list_select_related = ["workspace"]
    # Where django-import-export looks (its own list template shows the
    # admin's tools only to staff who may add products): the upload button
    # goes beside Export for whoever may import.
    import_export_change_list_template = "admin/catalog/product/change_list.html"

    def has_export_permission(self, request):
        return request.user.has_perm(EXPORT_PERMISSION)

    def has_import_permission(self, request):
        return request.user.has_perm(IMPORT_PERMISSION)

    def get_urls(self):
        return [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="catalog_product_upload",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"can_upload": self.has_import_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def upload_view(self, request):
        """Starts the import run and goes to its page (the products list for
        staff who may not view runs): the file is read in the background,
        not in this request."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        workspaces = scoped_workspaces(request)
        form = UploadForm(request.POST or None, request.FILES or None, workspaces=workspaces)
        if request.method == "POST" and form.is_valid():
            try:
                run = start_import(
                    workspace=form.cleaned_data["workspace"],
                    importer_id=CATALOG_IMPORTER,
                    mode=form.cleaned_data["mode"],
                    upload=form.cleaned_data["file"],
                    user=request.user,
                    turn_on=True,
                )
            except ImportNotPossible as exc:
                form.add_error("file" if str(exc).startswith("file:") else None, str(exc))
            except OSError:
                form.add_error("file", "the file could not be read")
            else:
                return self._started(request, run)
        elif request.method == "GET" and not workspaces.exists():
            return redirect(reverse("admin:catalog_product_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload products",
            "form": form,
        }
        return TemplateResponse(request, "admin/catalog/product/upload.html", context)

    def _started(self, request, run: ImportRun):
        if not run.finished:
            outcome, level = "queued", messages.INFO
        elif run.status == ImportRun.FAILED:
            outcome, level = f"failed: {run.failure}", messages.WARNING
        else:
            level = messages.WARNING if run.invalid else messages.SUCCESS
            outcome = run.summary()
        self.message_user(request, f"Catalog import run {run.pk}: {outcome}", level)
        if request.user.has_perm("imports.view_importrun"):
            return redirect(reverse("admin:imports_importrun_change", args=[run.pk]))
        return redirect(reverse("admin:catalog_product_changelist"))
