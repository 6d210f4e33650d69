from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from engage.messaging.models import FollowsCustomer
from engage.profiles.models import Profile
from engage.workspaces.models import Workspace


class Programme(models.Model):
    """A workspace's loyalty programme: how points are earned, kept and ranked.

    One per workspace, so ``{{ loyalty.tier }}`` and the profile's loyalty
    state never have to say which programme they mean.
    """

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="loyalty_programme"
    )
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217 code, e.g. EUR.")
    spend_event = models.CharField(
        max_length=200,
        default="Order Completed",
        help_text="The event whose amount counts as spend for spend-based tiers.",
    )
    spend_property = models.CharField(
        max_length=200, default="revenue", help_text="The spend event's amount property."
    )
    points_expire_after_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Earned points expire this long after the event; empty: never.",
    )
    expiry_notice_days = models.PositiveIntegerField(
        default=14, help_text="`Points Expiring` is recorded this many days ahead."
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from .rules import programme_errors

        errors = programme_errors(spend_property=self.spend_property)
        if errors:
            raise ValidationError(errors)


class TierRule(models.Model):
    """A tier and what it takes: a threshold of points earned or of spend,
    over the last ``window_days`` (empty: ever). The highest rank met wins."""

    POINTS, SPEND = "points", "spend"
    MEASURES = [(POINTS, "points earned"), (SPEND, "spend")]

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=64)
    rank = models.PositiveSmallIntegerField(help_text="Higher is better.")
    measure = models.CharField(max_length=8, choices=MEASURES, default=POINTS)
    threshold = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    window_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Count the last N days only; empty: ever."
    )

    class Meta:
        ordering = ["programme", "-rank"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "name"], name="loyalty_tier_name"),
            models.UniqueConstraint(fields=["programme", "rank"], name="loyalty_tier_rank"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from .rules import tier_errors

        errors = tier_errors(
            name=self.name,
            threshold=self.threshold,
            window_days=self.window_days,
        )
        if errors:
            raise ValidationError(errors)


class PointRule(models.Model):
    """Points for an event: ``points_per_unit`` of a numeric ``property``
    (1 per currency unit of ``Order Completed.revenue``), plus a fixed
    ``bonus``, when every ``where`` filter matches the event's properties."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="point_rules")
    event = models.CharField(max_length=200)
    property = models.CharField(
        max_length=200, blank=True, help_text="Numeric property, dots for nesting (revenue)."
    )
    points_per_unit = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    bonus = models.IntegerField(null=True, blank=True, help_text="Fixed points per event.")
    where = models.JSONField(
        default=list,
        blank=True,
        help_text='Property filters, as in segments: [{"property": "channel", "op": "equals", '
        '"value": "store"}].',
    )

    def __str__(self) -> str:
        return f"{self.event}: " + " + ".join(
            part
            for part in (
                f"{self.points_per_unit.normalize():f} per {self.property}"
                if self.points_per_unit
                else "",
                f"{self.bonus} bonus" if self.bonus else "",
            )
            if part
        )

    def clean(self):
        from .rules import point_rule_errors

        errors = point_rule_errors(
            event=self.event,
            property=self.property,
            points_per_unit=self.points_per_unit,
            bonus=self.bonus,
            where=self.where,
        )
        if errors:
            raise ValidationError(errors)


class LoyaltyAccount(FollowsCustomer):
    """A customer's standing in the programme.

    ``points`` is the sum of the account's movements, kept by adding each
    written movement's points in the same statement as a delta
    (``points = points + delta``): concurrent writers never read, add and
    write back, so none loses another's points.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="accounts")
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="loyalty_accounts")
    tier = models.CharField(max_length=64, blank=True)
    points = models.BigIntegerField(default=0, help_text="Balance: the sum of the movements.")
    external_id = models.CharField(
        max_length=200, blank=True, help_text="The account's id in an external loyalty system."
    )
    tier_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["programme", "profile"], name="loyalty_one_account")
        ]
        indexes = [models.Index(fields=["programme", "external_id"], name="loyalty_external_id")]

    def __str__(self) -> str:
        return f"{self.tier or 'no tier'}, {self.points} points"


class PointsMovement(FollowsCustomer):
    """One change of a balance; never updated but to follow its customer.

    An earned movement names the event it came from by id and time, without a
    foreign key (events are not deleted with it, nor it with them); the
    unique (rule, event) pair is what makes a replayed event earn nothing.
    """

    EARNED, REDEEMED, EXPIRED, ADJUSTED = "earned", "redeemed", "expired", "adjusted"
    KINDS = [(k, k) for k in (EARNED, REDEEMED, EXPIRED, ADJUSTED)]

    # Each earning writes a row: no index of its own on profile or rule, whose
    # look-ups the history index and the (rule, event) unique index serve.
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="movements")
    profile = models.ForeignKey(
        Profile, on_delete=models.CASCADE, related_name="points_movements", db_index=False
    )
    kind = models.CharField(max_length=10, choices=KINDS)
    points = models.BigIntegerField(help_text="Signed: what it added to the balance.")
    rule = models.ForeignKey(
        PointRule, on_delete=models.SET_NULL, null=True, blank=True, db_index=False
    )
    event_id = models.BigIntegerField(null=True, blank=True, help_text="The source event's id.")
    event_time = models.DateTimeField(null=True, blank=True)
    occurred_at = models.DateTimeField(help_text="When it counts (the event's time for earnings).")
    expires_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    reference = models.CharField(
        max_length=100, blank=True, help_text="The caller's id for it; a retry with it is no-op."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_id"], name="loyalty_earned_once"),
            models.UniqueConstraint(
                fields=["programme", "reference"],
                condition=~models.Q(reference=""),
                name="loyalty_reference_once",
            ),
        ]
        indexes = [
            models.Index(fields=["profile", "programme", "-id"], name="loyalty_history"),
            # The nightly pass finds the customers with points past a date.
            models.Index(
                fields=["programme", "expires_at"],
                name="loyalty_expiring",
                condition=models.Q(expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"
