from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from engage.journeys.models import Journey
from engage.messaging.models import FollowsCustomer, Message, MessageTemplate
from engage.profiles.models import Profile
from engage.workspaces.models import Workspace

from . import scales

# Longest fatigue, answer window or pause a workspace may set.
MAX_DAYS = 365


class Survey(models.Model):
    """A question a workspace asks, and the templates that ask it.

    A message sent with one of ``templates`` is a survey message: it counts
    for the customer's fatigue and the response rate, its signed links answer
    this survey, and an SMS or WhatsApp reply to it is read as an answer.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    name = models.SlugField(max_length=64, help_text="Templates read it as {{ survey.<name> }}.")
    kind = models.CharField(max_length=8, choices=scales.KINDS)
    question = models.CharField(max_length=500)
    comment_question = models.CharField(
        max_length=500,
        blank=True,
        help_text="The optional free-text question shown after the score.",
    )
    templates = models.ManyToManyField(
        MessageTemplate,
        blank=True,
        related_name="+",
        help_text="The templates (one per channel) that send this survey.",
    )
    fatigue_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(MAX_DAYS)],
        help_text="A customer asked (or who answered) within this many days is not asked "
        "again, whichever channel asked.",
    )
    answer_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DAYS)],
        help_text="How long the links stay valid and a reply counts as an answer.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="survey_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class FeedbackSettings(models.Model):
    """How a workspace acts on answers; a workspace without a row uses the defaults.

    A detractor (NPS at or below ``detractor_max``) or a low CSAT (at or
    below ``csat_low_max``) pauses marketing to the customer for
    ``pause_days`` (0: no pause), enters ``recovery_journey`` and notifies
    staff with the comment; a promoter enters ``promoter_journey``.
    """

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="feedback_settings"
    )
    detractor_max = models.PositiveSmallIntegerField(
        default=6, help_text="NPS scores up to this one are acted on as detractors."
    )
    csat_low_max = models.PositiveSmallIntegerField(
        default=2, help_text="CSAT scores up to this one are acted on as low."
    )
    pause_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(MAX_DAYS)],
        help_text="Days marketing pauses after a detractor or low CSAT; 0: none.",
    )
    recovery_journey = models.ForeignKey(
        Journey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoter_journey = models.ForeignKey(
        Journey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notify_email = models.EmailField(
        blank=True, help_text="Staff address told of each detractor or low CSAT."
    )
    notify_webhook_url = models.URLField(
        blank=True, help_text="Or a URL that gets a signed POST (X-Engage-Signature)."
    )
    notify_webhook_secret = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "feedback settings"

    def __str__(self) -> str:
        return f"feedback settings of {self.workspace}"


class Feedback(FollowsCustomer):
    """One answer of one customer, and what asked for it.

    ``message`` is the survey message answered (none for answers collected
    elsewhere); ``journey_id`` and ``enrollment_id`` are copied from it, plain
    ids like the message's. ``event_id`` is the ``NPS Submitted`` (CSAT,
    Effort) event the answer wrote. ``key`` makes an answer count once: a
    second click of the same link or a redelivered reply changes nothing.
    """

    LINK = "link"
    REPLY = "reply"
    API = "api"
    SOURCES = [(LINK, "signed link"), (REPLY, "reply"), (API, "API")]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="answers"
    )
    kind = models.CharField(max_length=8, choices=scales.KINDS)
    score = models.SmallIntegerField()
    category = models.CharField(max_length=16)
    comment = models.TextField(blank=True)
    channel = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=8, choices=SOURCES)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    journey_id = models.BigIntegerField(null=True, blank=True)
    enrollment_id = models.BigIntegerField(null=True, blank=True)
    key = models.CharField(max_length=200)
    event_id = models.BigIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "feedback"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="feedback_key_unique")
        ]
        indexes = [
            models.Index(fields=["workspace", "kind", "answered_at"], name="feedback_ws_kind_time"),
            models.Index(fields=["profile", "-answered_at"], name="feedback_per_profile"),
            models.Index(
                fields=["message"],
                name="feedback_message",
                condition=models.Q(message__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score} ({self.category})"
