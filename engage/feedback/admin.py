"""Feedback in the admin: surveys and the workspace's feedback settings are
edited here; answers are read-only records, filtered by kind, category and
channel."""

from django import forms
from django.contrib import admin

from engage.admin_display import ReadOnly
from engage.journeys.models import Journey
from engage.messaging.models import MessageTemplate
from engage.plugins.outbound import url_refusal
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin, scoped_workspaces

from .models import Feedback, FeedbackSettings, Survey


@admin.register(Feedback)
class FeedbackAdmin(ReadOnly, WorkspaceScopedAdmin):
    """Answers are what customers said: never added, edited or deleted by
    hand (erasing the customer removes them)."""

    list_display = [
        "answered_at",
        "kind",
        "score",
        "category",
        "channel",
        "source",
        "profile_id",
        "message_id",
        "journey_id",
        "short_comment",
    ]
    list_filter = ["kind", "category", "channel", "source"]
    search_fields = ["=profile__id", "=message__id", "comment"]
    ordering = ["-answered_at", "-id"]
    list_select_related = ["workspace"]
    show_full_result_count = False

    @admin.display(description="comment")
    def short_comment(self, obj: Feedback) -> str:
        return obj.comment if len(obj.comment) <= 80 else obj.comment[:79] + "…"


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = [
            "workspace",
            "name",
            "kind",
            "question",
            "comment_question",
            "templates",
            "fatigue_days",
            "answer_days",
        ]

    def clean(self):
        cleaned = super().clean()
        workspace = cleaned.get("workspace")
        others = [
            t
            for t in cleaned.get("templates") or []
            if workspace and t.workspace_id != workspace.pk
        ]
        if others:
            self.add_error("templates", f"{others[0].name} is a template of another workspace")
        return cleaned


@admin.register(Survey)
class SurveyAdmin(WorkspaceScopedAdmin):
    form = SurveyForm
    list_display = ["name", "kind", "question", "fatigue_days", "answer_days"]
    list_filter = ["kind"]
    filter_horizontal = ["templates"]
    search_fields = ["name", "question"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        """Only templates of the user's workspaces are offered, so no other
        tenant's template names show."""
        if db_field.name == "templates":
            kwargs["queryset"] = MessageTemplate.objects.filter(
                workspace__in=scoped_workspaces(request)
            ).order_by("name")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class FeedbackSettingsForm(forms.ModelForm):
    notify_webhook_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text="Or a URL that gets a signed POST (X-Engage-Signature).",
    )
    notify_webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs the webhook's X-Engage-Signature; left empty, the stored secret stays.",
    )

    class Meta:
        model = FeedbackSettings
        fields = [
            "workspace",
            "detractor_max",
            "csat_low_max",
            "pause_days",
            "recovery_journey",
            "promoter_journey",
            "notify_email",
            "notify_webhook_url",
            "notify_webhook_secret",
        ]

    def clean_detractor_max(self):
        value = self.cleaned_data["detractor_max"]
        if value > 10:
            raise forms.ValidationError("an NPS score is at most 10")
        return value

    def clean_csat_low_max(self):
        value = self.cleaned_data["csat_low_max"]
        if value > 5:
            raise forms.ValidationError("a CSAT score is at most 5")
        return value

    def clean_notify_webhook_url(self):
        url = self.cleaned_data["notify_webhook_url"]
        refusal = url_refusal(url) if url else None
        if refusal:
            raise forms.ValidationError(refusal)
        return url

    def clean_notify_webhook_secret(self):
        return self.cleaned_data["notify_webhook_secret"] or (
            self.instance.notify_webhook_secret if self.instance.pk else ""
        )

    def clean(self):
        cleaned = super().clean()
        workspace = cleaned.get("workspace")
        for name in ("recovery_journey", "promoter_journey"):
            journey = cleaned.get(name)
            if journey is not None and workspace and journey.workspace_id != workspace.pk:
                self.add_error(name, "a journey of another workspace")
        if cleaned.get("notify_webhook_url") and not cleaned.get("notify_webhook_secret"):
            self.add_error("notify_webhook_secret", "a signed webhook needs a secret")
        return cleaned


@admin.register(FeedbackSettings)
class FeedbackSettingsAdmin(WorkspaceScopedAdmin):
    form = FeedbackSettingsForm
    list_display = ["workspace", "detractor_max", "csat_low_max", "pause_days", "notify_email"]
    unfilterable_fields = ("notify_webhook_secret",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Only journeys of the user's workspaces are offered."""
        if db_field.name in ("recovery_journey", "promoter_journey"):
            kwargs["queryset"] = Journey.objects.filter(workspace__in=scoped_workspaces(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
