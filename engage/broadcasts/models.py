from django.db import models

from engage.journeys.models import Journey
from engage.messaging.models import Message, MessageTemplate
from engage.segments.models import Segment
from engage.workspaces.models import Workspace


class Broadcast(models.Model):
    """A segment's members, at a set time, entered into a journey or sent one message.

    ``once`` runs at ``send_at``; ``daily`` runs every day at ``local_time``,
    in each customer's timezone or in the workspace's (the messaging
    policy's default timezone). A run walks the audience by profile id
    (``cursor``), one slice of ``rate`` members per second each tick, so
    neither the whole audience nor a task per customer is ever held.
    """

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    STATUSES = [
        (DRAFT, "draft"),
        (SCHEDULED, "scheduled"),
        (RUNNING, "running"),
        (PAUSED, "paused"),
        (COMPLETED, "completed"),
        (CANCELLED, "cancelled"),
        (FAILED, "failed"),
    ]
    # Statuses a broadcast never leaves.
    FINAL = (COMPLETED, CANCELLED, FAILED)

    MESSAGE = "message"
    JOURNEY = "journey"
    ACTIONS = [(MESSAGE, "send one message"), (JOURNEY, "enter a journey")]

    ONCE = "once"
    DAILY = "daily"
    SCHEDULES = [(ONCE, "once"), (DAILY, "daily")]

    CUSTOMER = "customer"
    WORKSPACE = "workspace"
    TIMEZONES = [(CUSTOMER, "each customer's timezone"), (WORKSPACE, "the workspace's timezone")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="broadcasts")
    name = models.CharField(max_length=200)
    segment = models.ForeignKey(Segment, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=8, choices=ACTIONS)
    journey = models.ForeignKey(
        Journey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    template = models.ForeignKey(
        MessageTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=64, blank=True)
    category = models.CharField(max_length=16, choices=Message.CATEGORIES, blank=True)
    topic = models.CharField(max_length=100, blank=True)
    schedule = models.CharField(max_length=8, choices=SCHEDULES, default=ONCE)
    send_at = models.DateTimeField(null=True, blank=True)
    local_time = models.TimeField(null=True, blank=True)
    timezone = models.CharField(max_length=9, choices=TIMEZONES, default=WORKSPACE)
    rate = models.PositiveIntegerField(help_text="Members handled per second at most.")
    status = models.CharField(max_length=9, choices=STATUSES, default=DRAFT)
    error = models.TextField(blank=True)

    # The current run (``run`` counts them): the local date of a daily run,
    # the instant it began, the last profile id handled and the next slice's time.
    run = models.PositiveIntegerField(default=0)
    run_date = models.DateField(null=True, blank=True)
    run_at = models.DateTimeField(null=True, blank=True)
    cursor = models.BigIntegerField(default=0)
    next_slice_at = models.DateTimeField(null=True, blank=True)
    # Progress over every run.
    targeted = models.PositiveBigIntegerField(default=0)
    entered = models.PositiveBigIntegerField(default=0)
    refused = models.PositiveBigIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_slice_at"], name="broadcast_due")]

    def __str__(self) -> str:
        return self.name

    @property
    def key_prefix(self) -> str:
        """What the idempotency key of each of its messages starts with."""
        return f"broadcast:{self.pk}:"
