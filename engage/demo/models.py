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
