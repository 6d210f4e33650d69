"""The catalog in the admin: products by workspace, a CSV upload that
reports each bad row by line and column, and an export that spreadsheets
cannot turn into formulas. Upload and export each need their own permission
(``catalog.import_product``, ``catalog.export_product``), apart from
changing products one by one."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from import_export.admin import ExportMixin

from engage.events.importing import MODES
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin, scoped_workspaces

from .csv_import import COLUMNS, import_products_csv
from .models import Product
from .resources import ProductResource


class UploadForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=None)
    file = forms.FileField(help_text=f"CSV, UTF-8, with a header row: {', '.join(COLUMNS)}.")
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
    change_list_template = "admin/catalog/product/change_list.html"

    def has_export_permission(self, request):
        return request.user.has_perm("catalog.export_product")

    def has_import_permission(self, request):
        return request.user.has_perm("catalog.import_product")

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
        if not self.has_import_permission(request):
            raise PermissionDenied
        workspaces = scoped_workspaces(request)
        form = UploadForm(request.POST or None, request.FILES or None, workspaces=workspaces)
        result = None
        if request.method == "POST" and form.is_valid():
            result = import_products_csv(
                workspace=form.cleaned_data["workspace"],
                file=form.cleaned_data["file"].file,
                mode=form.cleaned_data["mode"],
            )
        elif request.method == "GET" and not workspaces.exists():
            return redirect(reverse("admin:catalog_product_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload products",
            "form": form,
            "result": result,
        }
        return TemplateResponse(request, "admin/catalog/product/upload.html", context)
