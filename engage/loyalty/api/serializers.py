"""Shapes of the loyalty API: requests checked with JSON's own types."""

from rest_framework import serializers

from engage.api import fields
from engage.api.pagination import page_serializer

from ..models import PointsMovement
from ..services import MAX_IMPORT_ROWS, MAX_POINTS

KINDS = {"redeem": PointsMovement.REDEEMED, "adjust": PointsMovement.ADJUSTED}
# The request's kinds, named in the schema's ENUM_NAME_OVERRIDES.
REQUEST_KINDS = tuple(KINDS)


class MovementSerializer(serializers.ModelSerializer):
    class Meta:
        model = PointsMovement
        fields = [
            "id",
            "kind",
            "points",
            "reason",
            "reference",
            "event_id",
            "event_time",
            "occurred_at",
            "expires_at",
            "created_at",
        ]


class MovementInputSerializer(serializers.Serializer):
    kind = fields.ChoiceField(
        choices=REQUEST_KINDS,
        help_text="`redeem` takes `points` off the balance; `adjust` adds them (negative: "
        "takes them off).",
    )
    points = fields.IntegerField(min_value=-MAX_POINTS, max_value=MAX_POINTS)
    reason = fields.CharField(max_length=200, required=False, allow_blank=True, default="")
    reference = fields.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Your id for this movement (a till receipt): a retry with the same "
        "reference moves nothing again and answers the first movement.",
    )


class AccountSerializer(serializers.Serializer):
    profile_id = serializers.IntegerField()
    programme = serializers.CharField(allow_null=True, help_text="Null: no programme.")
    tier = serializers.CharField(help_text="Empty: no tier yet.")
    points = serializers.IntegerField(help_text="The balance: the sum of the movements.")
    external_id = serializers.CharField(help_text="The id in an external loyalty system.")
    tier_changed_at = serializers.DateTimeField(allow_null=True)


class MovedSerializer(serializers.Serializer):
    movement = MovementSerializer()
    account = AccountSerializer()


MovementPageSerializer = page_serializer("LoyaltyMovementPage", MovementSerializer)


class LoyaltySerializer(AccountSerializer):
    history = MovementPageSerializer(help_text="Newest first; follow `next` for older ones.")


class CustomerIdentifierSerializer(serializers.Serializer):
    kind = fields.CharField(max_length=64)
    value = fields.CharField(max_length=255)


class ImportRowSerializer(serializers.Serializer):
    external_id = fields.CharField(
        max_length=200,
        required=False,
        help_text="The external system's account id, held by the customer as a `loyalty` "
        "identity (or imported before).",
    )
    identifier = CustomerIdentifierSerializer(
        required=False, help_text="Instead of external_id: any identifier of the customer."
    )
    tier = fields.CharField(max_length=64, required=False, allow_blank=True, default="")
    points = fields.IntegerField(min_value=0, max_value=MAX_POINTS)


class ImportSerializer(serializers.Serializer):
    accounts = ImportRowSerializer(many=True, max_length=MAX_IMPORT_ROWS, allow_empty=False)


class ImportedSerializer(serializers.Serializer):
    accounts = serializers.IntegerField(help_text="Accounts set.")
    adjusted = serializers.IntegerField(help_text="Balances changed (one movement each).")
    tiers_changed = serializers.IntegerField()
