from django.conf import settings
from django.db import models


class Workspace(models.Model):
    """A tenant. Every row in engage belongs to exactly one workspace."""

    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rate_limit_per_second = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Ingestion requests per second before answering 429. Empty: the server default.",
    )
    blocked_identifiers = models.JSONField(
        default=list,
        blank=True,
        help_text="Extra identifier values never used to merge profiles (e.g. QA test ids).",
    )
    identity_limits = models.JSONField(
        default=dict,
        blank=True,
        help_text='Most identities of a kind one profile may hold, e.g. {"email": 3}. '
        "user_id is always limited to 1.",
    )
    default_phone_region = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO country code used to read phone numbers written without +country.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="engage_workspaces",
        help_text="Staff users who may see this workspace in the admin.",
    )

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A workspace key. Only a SHA-256 of the key is stored; the key is shown once."""

    WRITE = "write"
    SECRET = "secret"  # noqa: S105 (a key kind, not a password)
    KINDS = [(WRITE, "write (ingest only)"), (SECRET, "secret (read and manage)")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=6, choices=KINDS)
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=16, help_text="First characters, to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.kind})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
