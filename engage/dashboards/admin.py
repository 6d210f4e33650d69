"""The workspace overview in the admin: the overview's charts for one
workspace the user may see, over a range of days."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from engage.admin_display import ReadOnly
from engage.workspaces.admin_scoping import scoped_workspaces

from . import charts
from .forms import RangeForm
from .models import Overview


@admin.register(Overview)
class OverviewAdmin(ReadOnly, admin.ModelAdmin):
    def get_urls(self):
        # The overview is the one page: there is no row to change, delete or
        # read the history of (and no table to look one up in).
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name="dashboards_overview_changelist")]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = RangeForm(request.GET, workspaces=scoped_workspaces(request))
        valid = form.is_valid()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Overview",
            "form": form,
            "charts": charts.overview(form.cleaned_data["workspace"], form.window) if valid else [],
        }
        # A bad choice is the request's fault: 400, with the form naming the field.
        return TemplateResponse(
            request, "dashboards/overview.html", context, status=200 if valid else 400
        )
