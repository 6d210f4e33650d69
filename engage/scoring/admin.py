"""Admin: scores read-only (they are computed, never typed in).

The models' settings are plugin settings, edited in Plugin configurations.

``ScoreInline`` is registered on the profile page, so an operator sees a
customer's scores and their components beside identities and traits.
"""

from django.contrib import admin

from engage.admin_display import ReadOnly
from engage.profiles.admin import register_profile_inline
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from .models import Score, ScoreHistory


class ScoreInline(ReadOnly, admin.TabularInline):
    model = Score
    fields = ["model", "value", "cell", "components", "computed_at"]
    readonly_fields = fields
    extra = 0
    ordering = ["model"]


register_profile_inline(ScoreInline)


@admin.register(Score)
class ScoreAdmin(ReadOnly, WorkspaceScopedAdmin):
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
class ScoreHistoryAdmin(ReadOnly, WorkspaceScopedAdmin):
    list_display = ["profile", "model", "week", "value", "cell"]
    list_filter = ["model", "week"]
    search_fields = ["=profile__id"]
