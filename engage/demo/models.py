from django.db import models

from engage.messaging.models import Message
from engage.workspaces.models import Workspace


class OutboxEmail(models.Model):
    """An email the email channel kept in the local outbox instead of sending.

    Written by the channel's ``outbox`` delivery (the demo's, or any
    workspace's without a mail server), exactly as it would have gone out:
    headers, text and the tracked HTML. It belongs to its message, so erasing
    the customer (which deletes their messages) erases their mail too.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    message_id_header = models.CharField("Message-ID", max_length=255)
    from_email = models.CharField("from", max_length=320)
    to = models.CharField(max_length=1000)
    subject = models.TextField(blank=True)
    body = models.TextField("text", blank=True)
    html = models.TextField("HTML", blank=True)
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "outbox email"
        ordering = ["-id"]
        indexes = [models.Index(fields=["workspace", "-id"], name="outbox_per_workspace")]

    def __str__(self) -> str:
        return f"{self.subject or '(no subject)'} to {self.to}"


class DemoAccess(models.Model):
    """The demo workspace's keys and admin password, kept so that every run of
    the demo (and the start page) can show them again.

    API keys are otherwise stored only hashed and shown once; the demo is a
    local trial on the embedded database, where printing the same working
    keys on every run beats piling up a new pair each time. Nothing but the
    demo command writes here, so a workspace made any other way has no row.
    """

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    write_key = models.CharField(max_length=100)
    secret_key = models.CharField(max_length=100)
    admin_username = models.CharField(max_length=150)
    admin_password = models.CharField(max_length=100)

    class Meta:
        verbose_name = "demo access"

    def __str__(self) -> str:
        return f"demo access to workspace {self.workspace_id}"
