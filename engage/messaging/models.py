from django.db import models

from engage.profiles.models import Profile
from engage.workspaces.models import Workspace


class FollowsCustomer(models.Model):
    """A per-customer row that follows its customer through merges and splits.

    A merge moves it to the survivor; splitting that merge moves it back when
    it was first written for the restored profile (or one merged into it),
    as split does with events: an opt-out given as that customer must stay
    with the email or phone it was given for.
    """

    origin_profile_id = models.BigIntegerField(
        null=True, editable=False, help_text="The profile it was first written for."
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.origin_profile_id is None:
            self.origin_profile_id = self.profile_id
        super().save(*args, **kwargs)


class Message(FollowsCustomer):
    """One message to one customer on one channel, and everything that happened to it.

    The row is the unit of idempotency: a send with an ``idempotency_key``
    already used in the workspace returns this row instead of sending again.
    Status moves queued (or deferred) → sending → sent | failed | skipped |
    unknown, then forward through the delivery signals in ``SIGNAL_RANK``
    order; a queued or deferred message may instead be ``cancelled``.
    ``sending`` is committed before the provider is called, so a worker
    that dies mid-send leaves a ``sending`` row that is never resent
    blindly (it becomes ``unknown``).
    """

    QUEUED = "queued"
    DEFERRED = "deferred"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    REPLIED = "replied"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"
    STATUSES = [
        (QUEUED, "queued"),
        (DEFERRED, "deferred by policy"),
        (SENDING, "sending"),
        (SENT, "sent"),
        (FAILED, "failed"),
        (SKIPPED, "skipped"),
        (UNKNOWN, "unknown: the worker or provider call died mid-send; needs review"),
        (CANCELLED, "cancelled before it was sent"),
        (DELIVERED, "delivered"),
        (OPENED, "opened"),
        (CLICKED, "clicked"),
        (REPLIED, "replied"),
        (BOUNCED, "bounced"),
        (COMPLAINED, "complained"),
        (UNSUBSCRIBED, "unsubscribed"),
    ]
    # Statuses a worker may pick up and send.
    READY = (QUEUED, DEFERRED)
    # After a send, a signal moves the status only forward in this order, so a
    # late or duplicated ``delivered`` never undoes ``opened`` or ``clicked``.
    # ``unknown`` ranks lowest: any signal proves the provider did send it.
    SIGNAL_RANK = {
        UNKNOWN: 0,
        SENT: 1,
        DELIVERED: 2,
        OPENED: 3,
        CLICKED: 4,
        REPLIED: 5,
        BOUNCED: 6,
        COMPLAINED: 7,
        UNSUBSCRIBED: 8,
    }

    TRANSACTIONAL = "transactional"
    SERVICE = "service"
    MARKETING = "marketing"
    CATEGORIES = [
        (TRANSACTIONAL, "transactional"),
        (SERVICE, "service"),
        (MARKETING, "marketing"),
    ]
    # What sent it; journey messages also say which journey, version, node and
    # enrollment (plain ids, so the ledger and attribution can follow them).
    API = "api"
    JOURNEY = "journey"
    BROADCAST = "broadcast"
    SOURCES = [(API, "API"), (JOURNEY, "journey"), (BROADCAST, "broadcast")]

    # When messages compete for the customer's last slot, the higher rank wins;
    # ``priority`` (per campaign or journey) breaks ties within a category.
    CATEGORY_RANK = {TRANSACTIONAL: 2, SERVICE: 1, MARKETING: 0}

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=64)
    category = models.CharField(max_length=16, choices=CATEGORIES)
    topic = models.CharField(
        max_length=64, blank=True, help_text="Consent topic; empty means the category."
    )
    priority = models.SmallIntegerField(
        default=0, help_text="Campaign or journey priority within the category; higher wins."
    )
    template = models.ForeignKey(
        "MessageTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locale = models.CharField(max_length=35, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    body = models.TextField(blank=True, help_text="Plain-text content.")
    html = models.TextField(blank=True, help_text="HTML content, for channels that support it.")
    idempotency_key = models.CharField(max_length=200)
    source = models.CharField(max_length=16, choices=SOURCES, default=API)
    journey_id = models.BigIntegerField(null=True, blank=True)
    journey_version = models.IntegerField(null=True, blank=True)
    journey_node_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - null like the other journey ids: not from a journey
    enrollment_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED)
    address = models.CharField(max_length=320, blank=True, help_text="Where it was sent.")
    provider_message_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"], name="message_idempotency_key_unique"
            )
        ]
        indexes = [
            models.Index(fields=["profile", "-created_at"], name="message_per_profile"),
            # Webhooks find a message by the provider's id: per workspace for
            # channel webhooks, across workspaces for ESP events (ids are the ESP's).
            models.Index(
                fields=["provider_message_id", "channel"],
                name="message_provider_id",
                condition=~models.Q(provider_message_id=""),
            ),
            models.Index(
                fields=["next_attempt_at"],
                name="message_ready",
                condition=models.Q(status__in=["queued", "deferred"]),
            ),
            models.Index(
                fields=["sending_at"],
                name="message_sending",
                condition=models.Q(status="sending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} message {self.pk} ({self.status})"

    @property
    def consent_topic(self) -> str:
        return self.topic or self.category


class MessageTemplate(models.Model):
    """Content for one channel in Liquid, with optional locale variants.

    ``variants`` maps a locale ("fr", "pt-BR") to {"subject", "body", "html"};
    a customer gets the variant of their locale, else of its language, else
    the default fields.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    name = models.SlugField(max_length=100)
    channel = models.CharField(max_length=64)
    subject = models.CharField(max_length=998, blank=True)
    body = models.TextField(blank=True)
    html = models.TextField(blank=True)
    variants = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="template_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel})"


class MessagingPolicy(models.Model):
    """A workspace's send rules; a workspace without a row uses the defaults.

    Caps count messages sent (or being sent) to one customer in the last day
    and week. ``channel_caps`` holds per-channel caps, e.g.
    ``{"email": {"day": 2, "week": 5}}``; ``total_per_day`` and
    ``total_per_week`` are the contact-pressure budget across all channels.
    Transactional messages are exempt unless ``cap_transactional``.
    """

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="messaging_policy"
    )
    channel_caps = models.JSONField(default=dict, blank=True)
    total_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    total_per_week = models.PositiveSmallIntegerField(null=True, blank=True)
    cap_transactional = models.BooleanField(default=False)
    quiet_start = models.TimeField(
        null=True, blank=True, help_text="Start of quiet hours, customer's local time."
    )
    quiet_end = models.TimeField(null=True, blank=True)
    default_timezone = models.CharField(
        max_length=64, default="UTC", help_text="For customers without a known timezone."
    )
    support_pause_days = models.PositiveSmallIntegerField(
        default=30,
        help_text="Longest a support case pauses marketing when no Ticket Solved comes.",
    )
    preference_topics = models.JSONField(
        default=list,
        blank=True,
        help_text='Marketing topics the preference centre offers besides "marketing".',
    )

    class Meta:
        verbose_name_plural = "messaging policies"

    def __str__(self) -> str:
        return f"messaging policy of {self.workspace}"


class WebhookReceipt(models.Model):
    """A provider webhook event already applied: providers deliver at least
    once, so a redelivered event id is acknowledged and ignored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    channel = models.CharField(max_length=64)
    provider_event_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=16)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel", "provider_event_id"],
                name="webhook_receipt_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} {self.provider_event_id}"


class MessageDecision(FollowsCustomer):
    """The customer's ledger: why they got a message, or did not, or not yet.
    Every send, skip, deferral, retry, held send and cancellation, with its
    reason and what it came from, read per profile. A decision may have no
    message (a journey deciding not to create one), so its provenance is kept
    on the row itself rather than read through the message."""

    SEND = "send"
    SKIP = "skip"
    DEFER = "defer"
    RETRY = "retry"
    HOLD = "hold"
    CANCEL = "cancel"
    # A journey's steps, written by the journey engine.
    ENTER = "enter"
    BRANCH = "branch"
    SPLIT = "split"
    WAIT = "wait"
    WAKE = "wake"
    UPDATE = "update"
    CALL = "call"
    EXIT = "exit"
    ACTIONS = [
        (SEND, "sent"),
        (SKIP, "skipped"),
        (DEFER, "deferred"),
        (RETRY, "retry scheduled"),
        (HOLD, "held for review, not resent"),
        (CANCEL, "cancelled"),
        (ENTER, "entered a journey"),
        (BRANCH, "branched"),
        (SPLIT, "split"),
        (WAIT, "waited"),
        (WAKE, "woke"),
        (UPDATE, "updated traits"),
        (CALL, "called a webhook"),
        (EXIT, "left a journey"),
    ]
    MESSAGE = "message"
    SOURCES = [(MESSAGE, "message"), (Message.JOURNEY, "journey"), (Message.BROADCAST, "broadcast")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    # Leads ``decision_per_profile``.
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Indexed where set (``decision_per_message``): a journey's rows, most
    # of the ledger, name no message.
    message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="decisions",
        db_index=False,
    )
    channel = models.CharField(max_length=64)
    action = models.CharField(max_length=8, choices=ACTIONS)
    reason = models.CharField(max_length=64, help_text="A stable code, e.g. no_address.")
    detail = models.TextField(blank=True)
    until = models.DateTimeField(null=True, blank=True, help_text="For deferrals and retries.")
    source = models.CharField(max_length=16, choices=SOURCES, default=MESSAGE)
    journey_id = models.BigIntegerField(null=True, blank=True)
    journey_version = models.IntegerField(null=True, blank=True)
    journey_node_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - null like the other journey ids: not from a journey
    enrollment_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["profile", "-created_at"], name="decision_per_profile"),
            models.Index(
                fields=["message"],
                condition=models.Q(message__isnull=False),
                name="decision_per_message",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.channel}: {self.reason}"


class Consent(FollowsCustomer):
    """One change of a customer's consent for a topic on a channel.

    Rows are never updated: the latest row for (profile, channel, topic) is
    the current state and the older ones are its history. An empty channel
    means every channel.
    """

    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    STATUSES = [(OPTED_IN, "opted in"), (OPTED_OUT, "opted out")]
    MARKETING = "marketing"
    UNSUBSCRIBE_LINK = "unsubscribe_link"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=64, blank=True)
    topic = models.CharField(max_length=64, default=MARKETING)
    status = models.CharField(max_length=9, choices=STATUSES)
    source = models.CharField(max_length=32, help_text="e.g. unsubscribe_link, api, admin.")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["profile", "topic", "channel", "-created_at"], name="consent_latest"
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.topic} on {self.channel or 'all channels'}"


class MarketingPause(FollowsCustomer):
    """A stop on marketing to one customer, for a reason, until a time.

    ``started_at`` and ``ended_at`` are the times of the latest start and
    latest end (event times when an event drove them), so a late-arriving
    start older than an end already applied does not reopen the pause: it is
    in force while ``until`` is ahead and it has not ended since it started.
    A support case has a row per open ticket (``case``, the events'
    ``ticket_id``), so it pauses until the last of them ends.
    A merge moves the rows to the survivor, which keeps each of them, so the
    longest pause wins; a split hands back the rows first written for the
    restored profile.
    """

    DETRACTOR = "detractor_pause"
    SUPPORT_CASE = "support_case"
    REASONS = [(DETRACTOR, "detractor feedback"), (SUPPORT_CASE, "open support case")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=32, choices=REASONS)
    case = models.CharField(
        max_length=255,
        blank=True,
        help_text="The support ticket it is for; '' for a detractor or a ticket without an id.",
    )
    detail = models.TextField(blank=True)
    source_event_id = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    until = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["profile", "reason"], name="pause_per_profile")]

    def __str__(self) -> str:
        return f"{self.reason} until {self.until:%Y-%m-%d %H:%M}"
