"""The outbox in the admin: every email the email channel kept instead of
sending, listed newest first, each shown rendered.

An email's HTML is the customer's content, tracked links and open pixel
included, so it is shown in a sandboxed frame: no script runs, a link opens
nothing (it would be counted as the customer's click), and no remote image
loads (the pixel would be counted as the customer's open).
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from engage.admin_display import ReadOnly
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from .models import OutboxEmail

# Put before the email's own HTML in the frame: a policy allowing inline
# styles and embedded (data:) images only, and links aimed at a new window,
# which the sandbox refuses to open.
FRAME_HEAD = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    '<base target="_blank">'
)


@admin.register(OutboxEmail)
# Read-only: an email goes with its message (the customer's erasure), like the message.
class OutboxEmailAdmin(ReadOnly, WorkspaceScopedAdmin, admin.ModelAdmin):
    list_display = ["created_at", "to", "subject", "message_link"]
    list_select_related = ["workspace"]
    search_fields = ["to", "subject"]
    ordering = ["-id"]
    show_full_result_count = False
    fields = [
        "created_at",
        "workspace",
        "message_link",
        "from_email",
        "to",
        "subject",
        "rendered",
        "body",
        "headers",
    ]
    readonly_fields = fields

    @admin.display(description="message")
    def message_link(self, obj: OutboxEmail):
        url = reverse("admin:messaging_message_change", args=[obj.message_id])
        return format_html('<a href="{}">{}</a>', url, obj.message_id)

    @admin.display(description="HTML, rendered")
    def rendered(self, obj: OutboxEmail):
        if not obj.html:
            return "(text only)"
        return format_html(
            '<iframe sandbox="" srcdoc="{}" title="the email as sent" '
            'style="width: 100%; min-width: 40em; height: 32em; border: 1px solid #ccc; '
            'background: #fff"></iframe>',
            FRAME_HEAD + obj.html,
        )
