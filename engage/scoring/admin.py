"""Admin: scores read-only (they are computed, never typed in), settings editable.

``ScoreInline`` is registered on the profile page, so an operator sees a
customer's scores and their components beside identities and traits.
"""

from django.contrib import admin

from engage.profiles.admin import register_profile_inline
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from .models import Score, ScoreHistory, ScoringSettings


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScoreInline(ReadOnlyMixin, admin.TabularInline):
    model = Score
    fields = ["model", "value", "cell", "components", "computed_at"]
    readonly_fields = fields
    extra = 0
    ordering = ["model"]


register_profile_inline(ScoreInline)


@admin.register(Score)
class ScoreAdmin(ReadOnlyMixin, WorkspaceScopedAdmin):
    list_display = ["profile", "model", "value", "cell", "computed_at", "workspace"]
    list_filter = ["model", "cell"]
    list_select_related = ["workspace", "profile"]
    search_fields = ["=profile__id"]
    readonly_fields = [
        "workspace",
        "profile",
        "model",
        "value",
        "cell",
        "components",
        "computed_at",
    ]


@admin.register(ScoreHistory)
class ScoreHistoryAdmin(ReadOnlyMixin, WorkspaceScopedAdmin):
    list_display = ["profile", "model", "week", "value", "cell"]
    list_filter = ["model", "week"]
    search_fields = ["=profile__id"]


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(WorkspaceScopedAdmin):
    list_display = ["workspace", "purchase_event", "responsiveness_window_days", "default_channel"]
    fieldsets = [
        (None, {"fields": ["workspace"]}),
        ("RFM and monetary value", {"fields": ["purchase_event", "revenue_property"]}),
        (
            "Channel responsiveness",
            {"fields": ["responsiveness_window_days", "min_delivered", "default_channel"]},
        ),
        ("Engagement score", {"fields": ["ces_weights"]}),
        (
            "Dormancy",
            {
                "fields": [
                    "dormancy_at_risk_days",
                    "dormancy_dormant_days",
                    "dormancy_overdue_factor",
                ]
            },
        ),
        ("Intent", {"fields": ["intent_rules"]}),
    ]
