from django.db import models

from engage.profiles.models import Profile
from engage.workspaces.models import Workspace


class Segment(models.Model):
    """A named set of profiles.

    A dynamic segment is defined by ``rules`` (the rule tree documented in
    docs/segments.md) and recomputed by the services; a static segment holds
    whoever was uploaded to it and has no rules.
    """

    DYNAMIC = "dynamic"
    STATIC = "static"
    KINDS = [(DYNAMIC, "dynamic (rules)"), (STATIC, "static (uploaded list)")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=7, choices=KINDS, default=DYNAMIC)
    rules = models.JSONField(null=True, blank=True)
    # schema.Dependencies of ``rules``, computed on save: which event names and
    # trait keys the real-time re-check must react to.
    dependencies = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Written by each refresh, so lists and the admin need no count query.
    member_count = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="segment_name_unique"),
            models.CheckConstraint(
                condition=models.Q(kind="static", rules__isnull=True)
                | models.Q(kind="dynamic", rules__isnull=False),
                name="segment_rules_match_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    """One stay of a profile in a segment. Current members have no ``exited_at``;
    a profile that re-enters gets a new row, so the history is kept."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    profile = models.ForeignKey(
        Profile, on_delete=models.CASCADE, related_name="segment_memberships"
    )
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "profile"],
                condition=models.Q(exited_at__isnull=True),
                name="segment_membership_one_current",
            )
        ]
        indexes = [
            models.Index(fields=["profile", "segment"], name="segment_membership_profile"),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} in {self.segment_id}"


class SegmentSize(models.Model):
    """Daily snapshot of a segment's size (the last refresh of the day wins)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    date = models.DateField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "date"], name="segment_size_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.date}: {self.size}"
