"""The single customer view for operators: find a customer by any identifier,
see who they are, what they did, and how they were merged.

Search runs the identity resolution's normalizers on the term and looks up
exact (workspace, kind, value) identities, which the identity unique index
answers directly; a profile id or ``kind:value`` (``crm:8812``) works too.

The timeline is its own keyset-paginated page (the events app's ``timeline``
selector), never the changelist: COUNT(*) and OFFSET over a profile with 100k
events get slower with every page, a (timestamp, id) cursor does not.

Nothing here edits customers by hand. Splitting a merge and erasing a customer
go through ``split_merge`` and ``erase_profile``, after a confirmation page,
and are logged with the operator's name.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from engage.admin_display import CappedCountPaginator, pretty_json
from engage.events.selectors import TimelineCursor, timeline
from engage.imports.exchange import CustomerResource, SpreadsheetExport
from engage.messaging.selectors import decisions_for_profile
from engage.privacy.services import erase_profile
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin, scoped_workspaces

from . import selectors
from .identifiers import KIND_PATTERN, InvalidIdentifier, normalize
from .merge import split_merge
from .models import Identity, Profile, ProfileMerge

TIMELINE_PAGE_SIZE = 50
LEDGER_ROWS = 20
SEARCH_HELP = (
    "Exact identifier: email, phone, user id, anonymous id, device id or an external id "
    "(normalized as identity resolution does), a profile id, or kind:value (crm:8812)."
)
# Distinct kinds of one workspace's identities, one index probe per kind
# (a loose index scan over the (workspace, kind, value) unique index).
KINDS_SQL = """
WITH RECURSIVE kinds(kind) AS (
    SELECT MIN(kind) FROM profiles_identity WHERE workspace_id = %s
    UNION ALL
    SELECT (SELECT MIN(kind) FROM profiles_identity WHERE workspace_id = %s AND kind > kinds.kind)
    FROM kinds WHERE kinds.kind IS NOT NULL
)
SELECT kind FROM kinds WHERE kind IS NOT NULL
"""
# Inlines other apps add to the profile page (``register_profile_inline``).
_extra_inlines: list[type[admin.options.InlineModelAdmin]] = []


def register_profile_inline(inline: type[admin.options.InlineModelAdmin]) -> None:
    """Show ``inline`` on every profile page, after the identities.

    For apps that keep per-customer rows (scores, consents...), from their
    own admin module: ``register_profile_inline(ScoreInline)``. The inline's
    model needs a foreign key to Profile; make it read-only if the rows are
    computed.
    """
    if inline not in _extra_inlines:
        _extra_inlines.append(inline)


def _identity_kinds(workspace_id: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(KINDS_SQL, [workspace_id, workspace_id])
        return [row[0] for row in cursor.fetchall()]


def _normalized(kind: str, value: str, region: str = "") -> str | None:
    try:
        return normalize(kind, value, phone_region=region)
    except InvalidIdentifier:
        return None


def identity_matches(workspaces, term: str) -> Q:
    """Identities ``term`` names in ``workspaces``, as exact (workspace, kind, value) matches.

    The term is tried as every kind the workspace holds, normalized for it (so
    ``Ada@Example.COM`` and ``+44 20 7946 0018`` find their stored forms), and
    ``kind:value`` also as that one kind (a user id may contain a colon too).
    """
    explicit_kind, _, explicit_value = term.partition(":")
    explicit = bool(explicit_value) and bool(KIND_PATTERN.match(explicit_kind))
    q = Q(pk__in=[])
    for workspace in workspaces:
        region = workspace.default_phone_region
        pairs = [(kind, _normalized(kind, term, region)) for kind in _identity_kinds(workspace.pk)]
        if explicit:
            pairs.append((explicit_kind, _normalized(explicit_kind, explicit_value, region)))
        for kind, value in pairs:
            if value is not None:
                q |= Q(workspace_id=workspace.pk, kind=kind, value=value)
    return q


class IdentityInline(admin.TabularInline):
    model = Identity
    fields = ["kind", "value", "created_at"]
    readonly_fields = fields
    ordering = ["kind", "value"]
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        # Identities are part of the profile: whoever may see it sees them.
        return request.user.has_perm("profiles.view_profile")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MergedFilter(admin.SimpleListFilter):
    title = "merged"
    parameter_name = "merged"

    def lookups(self, request, model_admin):
        return [("no", "current customers"), ("yes", "merged into another profile")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(merged_into__isnull=True)
        if self.value() == "yes":
            return queryset.filter(merged_into__isnull=False)
        return queryset


@admin.register(Profile)
class ProfileAdmin(SpreadsheetExport, WorkspaceScopedAdmin):
    # Export only: customers are imported by the streaming runner (see exchange).
    resource_classes = [CustomerResource]
    list_display = ["id", "display_name", "workspace", "first_seen_at", "last_seen_at", "merged"]
    list_select_related = ["workspace"]
    list_filter = [MergedFilter]
    ordering = ["-last_seen_at", "-id"]
    search_fields = ["identities__value"]  # shows the box; get_search_results does the work
    search_help_text = SEARCH_HELP
    show_full_result_count = False
    paginator = CappedCountPaginator
    inlines = [IdentityInline]
    fields = [
        "workspace",
        "merged_into_link",
        "first_seen_at",
        "last_seen_at",
        "timezone",
        "locale",
        "created_at",
        "pretty_traits",
        "timeline_link",
        "merge_history",
    ]
    readonly_fields = [*fields, "merge_history_without_split"]

    def get_fields(self, request, obj=None):
        # The split button only for those allowed to split.
        if self.has_split_permission(request):
            return self.fields
        return ["merge_history_without_split" if f == "merge_history" else f for f in self.fields]

    def get_inlines(self, request, obj):
        return [*self.inlines, *_extra_inlines]

    def has_add_permission(self, request):
        return False  # profiles come from events

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # erasure has its own page, through the privacy service

    def has_split_permission(self, request) -> bool:
        return request.user.has_perm("profiles.change_profilemerge")

    def has_erase_permission(self, request) -> bool:
        return request.user.has_perm("profiles.delete_profile")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        holders = Identity.objects.filter(
            identity_matches(scoped_workspaces(request), term)
        ).values("profile_id")
        match = Q(pk__in=holders)
        if term.isdigit():
            match |= Q(pk=int(term))
        return queryset.filter(match), False

    # --- display ----------------------------------------------------------------

    @admin.display(description="customer")
    def display_name(self, obj: Profile) -> str:
        traits = obj.traits if isinstance(obj.traits, dict) else {}
        for key in ("name", "email", "phone"):
            if traits.get(key):
                return str(traits[key])
        return "—"

    @admin.display(description="merged", boolean=True)
    def merged(self, obj: Profile) -> bool:
        return obj.merged_into_id is not None

    @admin.display(description="merged into")
    def merged_into_link(self, obj: Profile) -> str:
        if obj.merged_into_id is None:
            return "—"
        return _profile_link(obj.merged_into_id)

    @admin.display(description="traits")
    def pretty_traits(self, obj: Profile) -> str:
        return pretty_json(obj.traits)

    @admin.display(description="event timeline")
    def timeline_link(self, obj: Profile) -> str:
        url = reverse("admin:profiles_profile_timeline", args=[obj.pk])
        return format_html('<a href="{}">Events, newest first</a>', url)

    @admin.display(description="merge history")
    def merge_history(self, obj: Profile) -> str:
        return self._merge_table(obj, can_split=True)

    @admin.display(description="merge history")
    def merge_history_without_split(self, obj: Profile) -> str:
        return self._merge_table(obj, can_split=False)

    def _merge_table(self, profile: Profile, *, can_split: bool) -> str:
        history = selectors.customer_view(profile).merge_history
        if not history:
            return "No merges."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _profile_link(m.merged_id),
                    m.get_reason_display(),
                    m.detail,
                    m.merged_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    self._split_cell(profile, m, can_split),
                )
                for m in history
            ),
        )
        return format_html(
            "<table><thead><tr><th>merged-in profile</th><th>reason</th><th>detail</th>"
            "<th>merged at</th><th></th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def _split_cell(self, profile: Profile, merge: ProfileMerge, can_split: bool) -> str:
        if merge.split_at is not None:
            when = merge.split_at.strftime("%Y-%m-%d %H:%M UTC")
            return format_html("split {} by {}", when, merge.split_by or "unknown")
        if not can_split:
            return ""
        url = reverse("admin:profiles_profile_split", args=[profile.pk, merge.pk])
        return format_html('<a class="button" href="{}">Split this merge</a>', url)

    # --- custom pages -----------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/timeline/",
                view(self.timeline_view),
                name="profiles_profile_timeline",
            ),
            path(
                "<path:object_id>/split/<int:merge_id>/",
                view(self.split_view),
                name="profiles_profile_split",
            ),
            path("<path:object_id>/erase/", view(self.erase_view), name="profiles_profile_erase"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, profile: Profile, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": profile,
            "profile": profile,
            "title": title,
            "profile_url": _change_url(Profile, profile.pk),
        }

    def timeline_view(self, request: HttpRequest, object_id: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        profile = self.scoped_object_or_404(request, object_id)
        cursor = None
        if request.GET.get("before"):
            try:
                cursor = TimelineCursor.decode(request.GET["before"])
            except ValueError:
                messages.error(request, "before: not a position from this page; showing newest.")
        events, more = timeline(profile=profile, cursor=cursor, limit=TIMELINE_PAGE_SIZE)
        older = None
        if more:
            last = events[-1]
            older = TimelineCursor(last.timestamp, last.pk).encode()
        context = {
            **self._context(request, profile, f"Timeline of profile {profile.pk}"),
            "events": [(e, json.dumps(e.properties, sort_keys=True)) for e in events],
            "older": older,
            "is_first_page": cursor is None,
            "page_size": TIMELINE_PAGE_SIZE,
        }
        return TemplateResponse(request, "admin/profiles/profile/timeline.html", context)

    def split_view(self, request: HttpRequest, object_id: str, merge_id: int):
        if not self.has_split_permission(request):
            raise PermissionDenied
        profile = self.scoped_object_or_404(request, object_id)
        family = selectors.merged_profile_ids(profile)
        merge = get_object_or_404(
            ProfileMerge, pk=merge_id, workspace_id=profile.workspace_id, survivor_id__in=family
        )
        if request.method == "POST":
            try:
                restored = split_merge(merge=merge, by=request.user.get_username())
            except ValueError as exc:
                messages.error(request, str(exc))
                return HttpResponseRedirect(_change_url(Profile, profile.pk))
            self.log_change(request, profile, f"Split merge {merge.pk}: profile {restored.pk}")
            messages.success(
                request,
                f"Split merge {merge.pk}: profile {restored.pk} is a customer of its own again.",
            )
            return HttpResponseRedirect(_change_url(Profile, profile.pk))
        context = {
            **self._context(request, profile, f"Split merge {merge.pk}?"),
            "merge": merge,
            "identities": Identity.objects.filter(pk__in=merge.identity_ids).order_by(
                "kind", "value"
            ),
            "action": "split",
        }
        return TemplateResponse(request, "admin/profiles/profile/confirm.html", context)

    def erase_view(self, request: HttpRequest, object_id: str):
        if not self.has_erase_permission(request):
            raise PermissionDenied
        profile = self.scoped_object_or_404(request, object_id)
        if request.method == "POST":
            erasure = erase_profile(profile=profile, requested_by=request.user.get_username())
            messages.success(
                request,
                f"Erased profile {profile.pk}: {erasure.profiles} profile(s), "
                f"{erasure.identities} identities, {erasure.events} events; "
                f"{erasure.suppressed_identifiers} identifiers suppressed.",
            )
            return HttpResponseRedirect(reverse("admin:profiles_profile_changelist"))
        context = {
            **self._context(request, profile, f"Erase profile {profile.pk}?"),
            "identities": profile.identities.order_by("kind", "value"),
            "action": "erase",
        }
        return TemplateResponse(request, "admin/profiles/profile/confirm.html", context)

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_erase"] = self.has_erase_permission(request)
        profile = context.get("original")
        if profile is not None:
            # The latest of the customer's ledger; the API pages the rest.
            context["ledger"] = decisions_for_profile(
                workspace=profile.workspace, profile_id=profile.pk
            )[:LEDGER_ROWS]
        return super().render_change_form(request, context, *args, **kwargs)


def _profile_link(profile_id: int) -> str:
    return format_html('<a href="{}">profile {}</a>', _change_url(Profile, profile_id), profile_id)


def _change_url(model, pk) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(pk)])


@admin.register(ProfileMerge)
class ProfileMergeAdmin(WorkspaceScopedAdmin):
    """Every merge, read-only; split one from its survivor's page."""

    list_display = ["id", "merged_link", "survivor_link", "reason", "merged_at", "split_at"]
    list_filter = ["reason", ("split_at", admin.EmptyFieldListFilter)]
    list_select_related = ["workspace"]
    search_fields = ["=message_id", "=merged__id", "=survivor__id"]
    ordering = ["-merged_at", "-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    exclude = ["identity_ids", "traits_taken"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="merged profile", ordering="merged")
    def merged_link(self, obj: ProfileMerge) -> str:
        return format_html(
            '<a href="{}">{}</a>', _change_url(Profile, obj.merged_id), obj.merged_id
        )

    @admin.display(description="survivor", ordering="survivor")
    def survivor_link(self, obj: ProfileMerge) -> str:
        return _profile_link(obj.survivor_id)
