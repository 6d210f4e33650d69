"""Messaging in the admin: send rules and templates are edited here (with a
preview of a template for a chosen customer); messages, consent history and
the decision log are read-only records of what happened."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from liquid.exceptions import LiquidError

from engage.audit.admin import AuditedAdmin
from engage.imports.exchange import ConsentResource, SpreadsheetExport
from engage.profiles.selectors import canonical_profile
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from . import rendering, services
from .models import Consent, Message, MessageDecision, MessageTemplate, MessagingPolicy
from .policy import WINDOWS


class RecordAdmin(WorkspaceScopedAdmin):
    """Rows the pipeline writes; never added, edited or deleted by hand.

    A customer's messages and consent history go only with the customer, by
    the privacy erasure, which also keeps the suppression that stops sending.
    """

    list_select_related = ["workspace"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(RecordAdmin):
    list_display = [
        "id",
        "created_at",
        "channel",
        "category",
        "status",
        "source",
        "profile_id",
        "address",
    ]
    list_filter = ["status", "channel", "category", "source"]
    search_fields = ["=id", "=profile__id", "=idempotency_key", "=provider_message_id"]
    ordering = ["-id"]


@admin.register(MessageDecision)
class MessageDecisionAdmin(RecordAdmin):
    list_display = ["created_at", "profile_id", "message_id", "channel", "action", "reason"]
    list_filter = ["action", "reason", "channel"]
    search_fields = ["=profile__id", "=message__id"]
    ordering = ["-id"]


@admin.register(Consent)
class ConsentAdmin(SpreadsheetExport, RecordAdmin):
    resource_classes = [ConsentResource]
    list_display = ["created_at", "profile_id", "channel", "topic", "status", "source"]
    list_filter = ["status", "topic", "channel", "source"]
    search_fields = ["=profile__id"]
    ordering = ["-id"]


class MessagingPolicyForm(forms.ModelForm):
    class Meta:
        model = MessagingPolicy
        fields = [
            "workspace",
            "channel_caps",
            "total_per_day",
            "total_per_week",
            "cap_transactional",
            "quiet_start",
            "quiet_end",
            "default_timezone",
            "support_pause_days",
            "preference_topics",
        ]

    def clean_preference_topics(self):
        topics = self.cleaned_data["preference_topics"] or []
        if not isinstance(topics, list):
            raise forms.ValidationError('preference_topics: expected ["newsletter", "offers"]')
        for n, topic in enumerate(topics):
            if not isinstance(topic, str) or not topic.strip() or len(topic) > 64:
                raise forms.ValidationError(
                    f"preference_topics[{n}]: must be a topic name of 1 to 64 characters"
                )
        return topics

    def clean_channel_caps(self):
        caps = self.cleaned_data["channel_caps"] or {}
        if not isinstance(caps, dict):
            raise forms.ValidationError('channel_caps: expected {"email": {"day": 2}}')
        for channel, limits in caps.items():
            if not isinstance(limits, dict) or not limits:
                raise forms.ValidationError(f"channel_caps.{channel}: expected {{'day': n}}")
            for window, cap in limits.items():
                if window not in WINDOWS:
                    raise forms.ValidationError(
                        f"channel_caps.{channel}.{window}: window must be day or week"
                    )
                if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
                    raise forms.ValidationError(
                        f"channel_caps.{channel}.{window}: must be a whole number >= 0"
                    )
        return caps

    def clean_default_timezone(self):
        name = self.cleaned_data["default_timezone"]
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(f"{name!r} is not an IANA timezone") from None
        return name

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("quiet_start")) != bool(cleaned.get("quiet_end")):
            self.add_error("quiet_end", "quiet hours need both a start and an end")
        return cleaned


@admin.register(MessagingPolicy)
class MessagingPolicyAdmin(AuditedAdmin, WorkspaceScopedAdmin):
    form = MessagingPolicyForm
    list_display = ["workspace", "total_per_day", "total_per_week", "quiet_start", "quiet_end"]


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["workspace", "name", "channel", "subject", "body", "html", "variants"]

    def clean(self):
        cleaned = super().clean()
        sources = {name: cleaned.get(name) or "" for name in ("subject", "body", "html")}
        variants = cleaned.get("variants") or {}
        if not isinstance(variants, dict):
            self.add_error("variants", 'expected {"fr": {"subject": ..., "body": ...}}')
            variants = {}
        for locale, fields in variants.items():
            if not isinstance(fields, dict):
                self.add_error("variants", f"{locale}: expected an object of fields")
                continue
            for name in ("subject", "body", "html"):
                if isinstance(fields.get(name), str):
                    sources[f"variants.{locale}.{name}"] = fields[name]
        for name, source in sources.items():
            env = rendering.HTML if name.endswith("html") else rendering.TEXT
            try:
                env.from_string(source)
            except LiquidError as exc:
                field = name if name in self.fields else "variants"
                self.add_error(field, f"{name}: {exc}")
        return cleaned


@admin.register(MessageTemplate)
class MessageTemplateAdmin(AuditedAdmin, WorkspaceScopedAdmin):
    form = MessageTemplateForm
    list_display = ["name", "channel", "workspace", "updated_at"]
    list_filter = ["channel"]
    search_fields = ["name"]
    readonly_fields = ["preview"]

    def get_actions(self, request):
        # Bulk deletion would skip the check that nothing still needs a template.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        services.delete_template(obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.TemplateInUse as exc:
            self.message_user(request, f"The template was not deleted: {exc.uses}.", messages.ERROR)
            return redirect("admin:messaging_messagetemplate_change", object_id)

    @admin.display(description="preview")
    def preview(self, obj):
        if obj is None or obj.pk is None:
            return "Save the template to preview it."
        url = reverse("admin:messaging_messagetemplate_preview", args=[obj.pk])
        return format_html(
            '<form method="get" action="{}" target="_blank">'
            '<input name="profile" placeholder="profile id" size="10"> '
            '<button type="submit">Preview for this customer</button></form>',
            url,
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="messaging_messagetemplate_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        """The template rendered for one customer of its workspace, as it would be sent."""
        template = self.scoped_object_or_404(request, object_id)
        try:
            profile_id = int(request.GET.get("profile", ""))
        except ValueError:
            return HttpResponse("profile: give a profile id", status=400)
        profile = canonical_profile(workspace=template.workspace, profile_id=profile_id)
        if profile is None:
            return HttpResponse("profile: no such customer in this workspace", status=404)
        # Placeholder survey and preference links: staff must not answer or
        # change consent for the customer from the preview.
        context = rendering.profile_context(profile, template=template, preview=True)
        try:
            content = rendering.render(rendering.variant(template, profile.locale), context)
        except rendering.TemplateError as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain")
        # What each recommender has for this customer, whether or not the
        # template shows it yet: what `recommendations.<id>` would loop over.
        offered = context.get("recommendations") or {}
        recommended = format_html_join(
            "",
            "<li>{}: {}</li>",
            (
                (key, ", ".join(item["title"] or item["id"] for item in offered[key]) or "none")
                for key in offered
            ),
        )
        return HttpResponse(
            format_html(
                "<!doctype html><title>Preview</title>"
                "<p><b>Subject:</b> {}</p><pre>{}</pre><hr>"
                '<iframe sandbox srcdoc="{}" style="width:100%;height:60vh"></iframe>'
                "<h2>Recommendations for this customer</h2><ul>{}</ul>",
                content.subject,
                content.body,
                content.html,
                recommended,
            )
        )
