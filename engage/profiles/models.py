from django.db import models

from engage.workspaces.models import Workspace


class Profile(models.Model):
    """One customer. A merged profile keeps its row, pointing at its survivor, so
    that a merge can be split again."""

    # What events and merges change on a profile (written with update_fields).
    EVENT_DRIVEN_FIELDS = (
        "traits",
        "trait_updated_at",
        "first_seen_at",
        "last_seen_at",
        "timezone",
        "locale",
    )

    # Leads ``profile_ws_last_seen``.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="profiles", db_index=False
    )
    traits = models.JSONField(default=dict, blank=True)
    # {trait: ISO-8601 event time of the value held}: the latest update wins,
    # also across merges and for events that arrive late.
    trait_updated_at = models.JSONField(default=dict, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    locale = models.CharField(max_length=35, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="merged_profiles",
    )

    class Meta:
        indexes = [models.Index(fields=["workspace", "-last_seen_at"], name="profile_ws_last_seen")]

    def __str__(self) -> str:
        return f"profile {self.pk}"


class Identity(models.Model):
    """An identifier of a customer, normalized; unique per workspace.

    ``kind`` is one of the built-in kinds or the name of a source system
    (``crm``, ``loyalty``, ``pos``...) for external ids.
    """

    USER_ID = "user_id"
    ANONYMOUS_ID = "anonymous_id"
    EMAIL = "email"
    PHONE = "phone"
    DEVICE_ID = "device_id"
    BUILTIN_KINDS = (USER_ID, ANONYMOUS_ID, EMAIL, PHONE, DEVICE_ID)

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=32)
    value = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "value"], name="identity_unique_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


class ProfileMerge(models.Model):
    """Audit of one merge, and what is needed to split it again."""

    IDENTIFY = "identify"
    ALIAS = "alias"
    SHARED_IDENTIFIER = "shared_identifier"
    MANUAL = "manual"
    REASONS = [
        (IDENTIFY, "identify linked identifiers"),
        (ALIAS, "alias"),
        (SHARED_IDENTIFIER, "same identifier seen on both"),
        (MANUAL, "merged by an operator"),
    ]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    survivor = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="merges_in")
    merged = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="merges_out")
    reason = models.CharField(max_length=32, choices=REASONS)
    detail = models.CharField(max_length=500, blank=True)
    message_id = models.CharField(max_length=100, blank=True, help_text="The event that caused it.")
    # Ids of the identities the merged profile brought; a split gives them back.
    identity_ids = models.JSONField(default=list)
    # {trait: {"previous": value or absent, "updated_at": ...}} for every trait
    # whose value came from the merged profile; a split restores "previous"
    # unless the trait changed again since.
    traits_taken = models.JSONField(default=dict)
    merged_at = models.DateTimeField()
    split_at = models.DateTimeField(null=True, blank=True)
    split_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id} ({self.reason})"
