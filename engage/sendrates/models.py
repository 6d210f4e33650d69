from django.db import models

from engage.workspaces.models import Workspace


class SendRateBucket(models.Model):
    """When a workspace's channel may next hand a message to its provider.

    The shared bucket of ``engage.sendrates.buckets`` where there is no
    Redis (the embedded default): one row per workspace and channel, locked
    for the instant it takes to book a send.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=64)
    next_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel"], name="sendratebucket_unique_per_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} of workspace {self.workspace_id}: next at {self.next_at}"
