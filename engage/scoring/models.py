from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from engage.profiles.models import Profile
from engage.workspaces.models import Workspace

from . import validation


class Score(models.Model):
    """The current value of one scoring model for one customer.

    Written a whole workspace at a time by the model's SQL; segments read this
    table directly (``model``, ``value``, ``cell``). ``components`` holds what
    the value is made of, so an operator sees why a customer scores as they do.
    """

    # No database constraints on these keys: a scoring pass writes a row per
    # customer and model, and checking each key locks the profile row (FOR KEY
    # SHARE), which cost more than computing the scores. Deleting a profile or
    # workspace through Django (erasure does) still deletes its scores, and a
    # pass rewrites the rows from the events of existing profiles only.
    # Lookups by profile use the unique (profile, model) index.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    profile = models.ForeignKey(
        Profile,
        on_delete=models.CASCADE,
        related_name="scores",
        db_index=False,
        db_constraint=False,
    )
    model = models.CharField(max_length=64, help_text="Scoring model id, e.g. rfm or ces.")
    value = models.FloatField()
    cell = models.CharField(
        max_length=64, blank=True, help_text="Named bucket, e.g. champions or at_risk."
    )
    components = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "model"], name="score_one_per_model")
        ]
        indexes = [
            models.Index(fields=["workspace", "model", "cell"], name="score_ws_model_cell"),
            models.Index(fields=["workspace", "model", "value"], name="score_ws_model_value"),
        ]

    def __str__(self) -> str:
        return f"{self.model}={self.value:g} {self.cell}".strip()


class ScoreHistory(models.Model):
    """One value per customer, model and week (the Monday of the week computed):
    the trend is this week's value against last week's."""

    # Keys without database constraints, as on Score.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    profile = models.ForeignKey(
        Profile,
        on_delete=models.CASCADE,
        related_name="score_history",
        db_index=False,
        db_constraint=False,
    )
    model = models.CharField(max_length=64)
    week = models.DateField()
    value = models.FloatField()
    cell = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "score history"
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "model", "week"], name="score_history_one_per_week"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.week}={self.value:g}"


def _default_ces_weights():
    return dict(validation.DEFAULT_CES_WEIGHTS)


def _default_intent_rules():
    return [dict(rule) for rule in validation.DEFAULT_INTENT_RULES]


class ScoringSettings(models.Model):
    """How a workspace's scores are computed. A workspace without a row uses the defaults."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="scoring_settings"
    )
    purchase_event = models.CharField(max_length=200, default="Order Completed")
    revenue_property = models.CharField(
        max_length=100,
        default="revenue",
        help_text="Numeric property of the purchase event holding its amount.",
    )
    responsiveness_window_days = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(30), MaxValueValidator(90)],
        help_text="Deliveries and responses of the last N days (30 to 90) count.",
    )
    min_delivered = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text="Deliveries a channel needs before it can be a customer's preferred channel.",
    )
    default_channel = models.CharField(
        max_length=64,
        default="email",
        help_text="Preferred channel of customers without enough evidence.",
    )
    ces_weights = models.JSONField(
        default=_default_ces_weights,
        help_text="Weight of each engagement score component: recency, frequency, breadth, "
        "monetary, response_rate.",
    )
    dormancy_at_risk_days = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(1)]
    )
    dormancy_dormant_days = models.PositiveSmallIntegerField(
        default=120, validators=[MinValueValidator(1)]
    )
    dormancy_overdue_factor = models.FloatField(
        default=3.0,
        validators=[MinValueValidator(1.0)],
        help_text="Drifting: inactive for this many times the customer's own usual gap.",
    )
    intent_rules = models.JSONField(
        default=_default_intent_rules,
        help_text='Rules like {"level": "high", "score": 90, "all": [{"event": "Pricing Viewed", '
        '"at_least": 3, "within_days": 2}]}; the best-scoring matching rule wins.',
    )

    class Meta:
        verbose_name_plural = "scoring settings"

    def __str__(self) -> str:
        return f"scoring settings of {self.workspace}"

    def clean(self):
        errors: dict[str, list[str]] = {}
        for field, check in (
            ("ces_weights", validation.check_ces_weights),
            ("intent_rules", validation.check_intent_rules),
        ):
            try:
                check(getattr(self, field), field)
            except validation.SettingsInvalid as exc:
                errors[field] = [f"{path}: {reason}" for path, reason in exc.errors]
        if not self.purchase_event.strip():
            errors["purchase_event"] = ["must not be blank"]
        if self.dormancy_at_risk_days >= self.dormancy_dormant_days:
            errors["dormancy_dormant_days"] = [
                "must be more than dormancy_at_risk_days "
                f"({self.dormancy_at_risk_days}): dormant comes after at risk"
            ]
        if errors:
            raise ValidationError(errors)


def settings_for(workspace: Workspace) -> ScoringSettings:
    """The workspace's settings, or unsaved defaults."""
    found = ScoringSettings.objects.filter(workspace=workspace).first()
    return found or ScoringSettings(workspace=workspace)
