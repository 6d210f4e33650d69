from django.db import models


class OutboxMessage(models.Model):
    """A message waiting for the system that reads the outbox.

    One row per engage message, so a resend of the same message finds its row
    instead of adding another. The key to the customer's profile puts the row
    in the customer's data export and erasure (engage follows every key to a
    profile), as the personal data it is.
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE)
    profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField("messaging.Message", on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=255)
    subject = models.CharField(max_length=998, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"outbox message {self.message_id} to {self.address}"
