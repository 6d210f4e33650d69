from django.db import models

from engage.messaging.models import Message
from engage.profiles.models import Profile
from engage.workspaces.models import Workspace


class InboxEntry(models.Model):
    """An in-app message in a customer's inbox, and whether they read or dismissed it.

    The content stays on the ``Message``; this row is the inbox's own state.
    One entry per message, so a resend of the same message is not a second entry.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="inbox_entry")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "inbox entries"
        indexes = [
            models.Index(
                fields=["profile", "-created_at", "-id"],
                name="inbox_visible",
                condition=models.Q(dismissed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"inbox entry {self.pk} of profile {self.profile_id}"
