"""Journeys: versioned graphs of steps, and the customers walking them.

A journey's behaviour lives in its versions' ``definition`` (see
``graph.py`` for the format). A published version never changes, so an
enrollment can always finish the version it entered.
"""

from django.db import models

from engage.messaging.models import FollowsCustomer
from engage.profiles.models import Profile
from engage.workspaces.models import Workspace


class Journey(models.Model):
    """What an operator names, publishes, pauses and stops; customers enter
    its ``live_version`` while it is live."""

    DRAFT = "draft"
    LIVE = "live"
    PAUSED = "paused"
    STOPPED = "stopped"
    STATUSES = [(DRAFT, "draft"), (LIVE, "live"), (PAUSED, "paused"), (STOPPED, "stopped")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=STATUSES, default=DRAFT)
    live_version = models.ForeignKey(
        "JourneyVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="journey_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class JourneyVersion(models.Model):
    """One version of a journey's graph; immutable once ``published_at`` is set."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="journey_version_unique")
        ]
        ordering = ["journey", "number"]

    def __str__(self) -> str:
        return f"{self.journey} v{self.number}"


class Enrollment(FollowsCustomer):
    """One customer's walk through one version of a journey.

    The engine finds work through ``next_run_at`` alone: an enrollment that
    just entered, or that an event woke, is due now; one parked at a wait is
    due when the wait ends. ``waiting`` says it is parked at ``node_id``, so a
    wake is told apart from an arrival. ``visit`` counts the steps taken and
    is part of every send's idempotency key, so a step re-run after a crash
    finds the message it already created.
    """

    COMPLETED = "completed"
    CONVERTED = "converted"
    EXITED_CONDITION = "exited_condition"
    MERGED = "merged"
    ERASED = "erased"
    JOURNEY_STOPPED = "journey_stopped"
    VERSION_REMOVED = "version_removed"
    END_REASONS = [
        (COMPLETED, "completed"),
        (CONVERTED, "converted"),
        (EXITED_CONDITION, "exited on a condition"),
        (MERGED, "merged into another customer's enrollment"),
        (ERASED, "erased"),
        (JOURNEY_STOPPED, "journey stopped"),
        (VERSION_REMOVED, "its node was removed by a new version"),
    ]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    # Both lead an index of Meta's: a single-column one more would only be
    # one more to write for every entry.
    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="enrollments", db_index=False
    )
    version = models.ForeignKey(
        JourneyVersion, on_delete=models.PROTECT, related_name="enrollments"
    )
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+", db_index=False)
    node_id = models.CharField(max_length=64)
    visit = models.PositiveIntegerField(default=0)
    waiting = models.BooleanField(default=False)
    next_run_at = models.DateTimeField(null=True, blank=True)
    waiting_for = models.CharField(
        max_length=200, blank=True, help_text="The event name a wait is listening for."
    )
    wake_event_id = models.BigIntegerField(null=True, blank=True)
    state = models.JSONField(default=dict, blank=True)
    trigger_event_id = models.BigIntegerField(null=True, blank=True)
    entered_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=24, choices=END_REASONS, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "profile"],
                condition=models.Q(ended_at__isnull=True),
                name="enrollment_one_active",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_run_at", "id"],
                condition=models.Q(ended_at__isnull=True, next_run_at__isnull=False),
                name="enrollment_due",
            ),
            models.Index(fields=["profile", "journey", "-entered_at"], name="enrollment_profile"),
            models.Index(fields=["journey", "-entered_at"], name="enrollment_journey"),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} in {self.journey_id} at {self.node_id}"


class NodeCount(models.Model):
    """How many enrollments arrived at a node (``edge`` empty) or left it by
    each edge; added to once per engine batch, read by the counts API."""

    # Leads the unique constraint's index.
    version = models.ForeignKey(
        JourneyVersion, on_delete=models.CASCADE, related_name="counts", db_index=False
    )
    node_id = models.CharField(max_length=64)
    edge = models.CharField(max_length=64, blank=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "node_id", "edge"], name="node_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.node_id} {self.edge or 'entered'}: {self.count}"
