from django.db import models

from engage.profiles.models import Profile
from engage.workspaces.models import Workspace


class Event(models.Model):
    """One Segment-spec call (identify, track, page, screen, group, alias).

    Ingestion stores it unprocessed (``processed_at`` null, no profile);
    processing resolves the profile. ``origin_profile_id`` is the profile the
    event was first attributed to and never changes, so that splitting a merge
    can hand the event back.

    A quarantined event is one whose stored row cannot be loaded or shown (a
    time Python cannot represent, JSON nested too deep): it is set aside with
    the reason so that it blocks nothing (see ``quarantine``). Quarantine also
    sets ``processed_at``, which takes the row out of the pending queue.
    """

    TYPES = ("identify", "track", "page", "screen", "group", "alias")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    message_id = models.CharField(max_length=100)
    type = models.CharField(max_length=16)
    name = models.CharField(
        max_length=200, blank=True, help_text="track event, page or screen name"
    )
    user_id = models.CharField(max_length=255, blank=True)
    anonymous_id = models.CharField(max_length=255, blank=True)
    group_id = models.CharField(max_length=255, blank=True)
    previous_id = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField(help_text="When it happened, corrected for client clock skew.")
    original_timestamp = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    warnings = models.JSONField(default=list, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    channel = models.CharField(max_length=32, blank=True)
    profile = models.ForeignKey(
        Profile,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
    )
    origin_profile_id = models.BigIntegerField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    quarantined_at = models.DateTimeField(
        null=True, blank=True, help_text="Set aside: the row could not be loaded or shown."
    )
    # A database default too: ingestion COPYs rows without naming this column.
    quarantine_reason = models.TextField(blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "message_id"], name="event_message_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["profile", "-timestamp", "-id"], name="event_timeline"),
            models.Index(
                fields=["id"],
                name="event_unprocessed",
                condition=models.Q(processed_at__isnull=True),
            ),
            models.Index(
                fields=["id"],
                name="event_quarantined",
                condition=models.Q(quarantined_at__isnull=False),
            ),
            # Segment conditions: windowed scans per event name, and per-profile
            # probes (real-time re-checks, "did not do" anti-joins).
            # profile last, so windowed scans are index-only (also on SQLite,
            # which has no INCLUDE).
            models.Index(
                fields=["workspace", "name", "timestamp", "profile"], name="event_ws_name_ts"
            ),
            models.Index(fields=["profile", "name", "timestamp"], name="event_profile_name_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name or ''} {self.message_id}".strip()

    @property
    def is_quarantined(self) -> bool:
        """Set aside, or found unreadable when loaded (``quarantine.load_events``)."""
        return self.quarantined_at is not None or bool(self.quarantine_reason)
