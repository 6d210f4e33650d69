"""Admin: programmes and their rules are edited here; accounts are read-only
(their points move through movements, never by typing a balance).

The profile page shows the customer's loyalty state (``register_profile_inline``),
with a link to the account and its movement history. Importing accounts from
an external loyalty system is a page of the programme (CSV pasted in), which
calls the same service as the API: all rows apply, or none.
"""

import csv
import io
import re

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from engage.admin_display import ReadOnly
from engage.imports.exchange import IMPORT_PERMISSION
from engage.profiles.admin import register_profile_inline
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from . import services
from .models import LoyaltyAccount, PointRule, PointsMovement, Programme, TierRule

HISTORY_ROWS = 50
IMPORT_COLUMNS = ("external_id", "tier", "points")
ROW_PATH = re.compile(r"^accounts\[(?P<index>\d+)\]\.?(?P<column>\w*)$")


class TierRuleInline(admin.TabularInline):
    model = TierRule
    extra = 0
    fields = ["name", "rank", "measure", "threshold", "window_days"]


class PointRuleInline(admin.TabularInline):
    model = PointRule
    extra = 0
    fields = ["event", "property", "points_per_unit", "bonus", "where"]


@admin.register(Programme)
class ProgrammeAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "workspace", "currency", "points_expire_after_days"]
    fields = [
        "workspace",
        "name",
        "currency",
        "spend_event",
        "spend_property",
        "points_expire_after_days",
        "expiry_notice_days",
        "import_link",
    ]
    readonly_fields = ["import_link"]
    inlines = [TierRuleInline, PointRuleInline]

    @admin.display(description="import accounts")
    def import_link(self, obj: Programme) -> str:
        if obj.pk is None:
            return "Save the programme first."
        url = reverse("admin:loyalty_programme_import", args=[obj.pk])
        return format_html('<a href="{}">Import accounts from a CSV…</a>', url)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if self._may_import(request) else [f for f in fields if f != "import_link"]

    @staticmethod
    def _may_import(request: HttpRequest) -> bool:
        """Setting many balances at once is a bulk import, a right of its own
        (``imports.import_data``) as for the admin's other imports."""
        return request.user.has_perm(IMPORT_PERMISSION)

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [
            path("<path:object_id>/import/", view, name="loyalty_programme_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest, object_id: str):
        """Paste ``external_id,tier,points`` rows; a bad row names its line and
        column, and nothing is applied until every row is good."""
        programme = self.scoped_object_or_404(request, object_id)
        if not self.has_change_permission(request, programme) or not self._may_import(request):
            raise PermissionDenied
        text, errors = request.POST.get("rows", ""), []
        if request.method == "POST":
            rows = list(csv.DictReader(io.StringIO(text.strip()), fieldnames=IMPORT_COLUMNS))
            header = bool(rows) and rows[0]["external_id"] == "external_id"
            rows = rows[header:]
            try:
                imported = services.import_accounts(
                    workspace=programme.workspace,
                    rows=[_import_row(row) for row in rows],
                )
            except services.LoyaltyError as exc:
                errors = [
                    f"{_line(field, header)}: {reason}"
                    for field, reasons in exc.errors.items()
                    for reason in reasons
                ]
            else:
                messages.success(
                    request,
                    f"Imported {imported.accounts} accounts: {imported.adjusted} balances "
                    f"adjusted, {imported.tiers_changed} tiers changed.",
                )
                return HttpResponseRedirect(reverse("admin:loyalty_loyaltyaccount_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Import accounts into {programme}",
            "programme": programme,
            "rows": text,
            "errors": errors,
            "columns": ",".join(IMPORT_COLUMNS),
        }
        return TemplateResponse(request, "admin/loyalty/import.html", context)


def _line(field: str, header: bool) -> str:
    """``accounts[3].points`` as the operator's ``line 5, points``."""
    found = ROW_PATH.match(field)
    if not found:
        return field
    line = int(found["index"]) + 1 + header
    return f"line {line}, {found['column']}" if found["column"] else f"line {line}"


def _import_row(row: dict) -> dict:
    """A CSV row as the service takes it; a points cell that is not a whole
    number is passed on as text, for the service to name."""
    points = (row.get("points") or "").strip()
    return {
        "external_id": (row.get("external_id") or "").strip(),
        "tier": (row.get("tier") or "").strip(),
        "points": int(points) if points.lstrip("-").isdigit() else points,
    }


class LoyaltyAccountInline(ReadOnly, admin.TabularInline):
    """The loyalty state on the profile page."""

    model = LoyaltyAccount
    fk_name = "profile"
    fields = ["programme", "tier", "points", "external_id", "tier_changed_at", "history"]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "loyalty"

    @admin.display(description="history")
    def history(self, obj: LoyaltyAccount) -> str:
        url = reverse("admin:loyalty_loyaltyaccount_change", args=[obj.pk])
        return format_html('<a href="{}">points history</a>', url)


register_profile_inline(LoyaltyAccountInline)


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnly, WorkspaceScopedAdmin):
    list_display = ["profile", "programme", "tier", "points", "external_id"]
    # No filter by programme or tier: their choices would list other
    # workspaces' names (a superuser gets the filter by workspace).
    list_select_related = ["programme", "profile"]
    search_fields = ["=external_id", "=profile__id"]
    fields = [
        "profile",
        "programme",
        "tier",
        "points",
        "external_id",
        "tier_changed_at",
        "movements",
    ]
    readonly_fields = fields

    @admin.display(description=f"movements (latest {HISTORY_ROWS})")
    def movements(self, obj: LoyaltyAccount) -> str:
        rows = PointsMovement.objects.filter(profile_id=obj.profile_id, programme=obj.programme)
        rows = rows.order_by("-id")[:HISTORY_ROWS]
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.occurred_at,
                    m.kind,
                    f"{m.points:+d}",
                    m.reason,
                    m.event_id or "",
                    m.expires_at or "",
                )
                for m in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>when</th><th>kind</th><th>points</th><th>reason</th>"
            "<th>event id</th><th>expires</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )
