from django.db import models

from engage.profiles.models import Profile
from engage.workspaces.models import Workspace


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
