from django.db import models

from engage.workspaces.models import Workspace


class Suppression(models.Model):
    """An erased customer's identifier: events carrying it are dropped.

    Only a hash is kept, so erasure leaves no readable identifier behind.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    identity_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "identity_hash"], name="suppression_unique_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"suppressed {self.kind} {self.identity_hash[:12]}…"


class PrivacyRequest(models.Model):
    """Record of an export or erasure: what was done, when, by whom."""

    EXPORT = "export"
    ERASE = "erase"
    KINDS = [(EXPORT, "export"), (ERASE, "erase")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=6, choices=KINDS)
    profile_id = models.BigIntegerField(help_text="Kept as a number: the profile may be gone.")
    profiles_count = models.PositiveIntegerField(default=0)
    identities_count = models.PositiveIntegerField(default=0)
    events_count = models.PositiveIntegerField(default=0)
    requested_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} of profile {self.profile_id}"
