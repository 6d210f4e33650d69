"""Shapes of the messaging API."""

from rest_framework import serializers

from engage.api import fields
from engage.api.customers import CustomerSerializer
from engage.api.pagination import page_serializer
from engage.messaging.models import Consent, Message, MessageDecision
from engage.messaging.services import MAX_CANCEL_REASON


class SendSerializer(CustomerSerializer):
    """A send request. The customer is ``profile_id``, or one identifier
    (``user_id``, ``email``...); the content is ``template`` or raw
    ``subject``/``body``/``html`` (Liquid, rendered for the customer)."""

    channel = fields.CharField(max_length=64)
    category = fields.ChoiceField(choices=[c for c, _ in Message.CATEGORIES])
    topic = fields.CharField(max_length=64, required=False, default="")
    priority = fields.IntegerField(required=False, default=0, min_value=-100, max_value=100)
    template = fields.SlugField(max_length=100, required=False)
    subject = fields.CharField(max_length=998, required=False, default="")
    body = fields.CharField(required=False, default="", max_length=100_000)
    html = fields.CharField(required=False, default="", max_length=500_000)
    defaults = serializers.DictField(required=False, default=dict)
    idempotency_key = fields.CharField(max_length=200, required=False, default="")
    send_at = serializers.DateTimeField(
        required=False,
        default=None,
        allow_null=True,
        help_text="Not before this time (at most a year ahead); a past time sends now.",
    )

    def validate(self, attrs):
        if ("profile_id" in attrs) == ("identifier" in attrs):
            raise serializers.ValidationError({"profile_id": "give profile_id or identifier"})
        raw = attrs["subject"] or attrs["body"] or attrs["html"]
        if "template" in attrs and raw:
            raise serializers.ValidationError(
                {"template": "give a template or raw content, not both"}
            )
        if "template" not in attrs and not (attrs["body"] or attrs["html"]):
            raise serializers.ValidationError({"body": "give a template, a body or html"})
        return attrs


class CancelSerializer(serializers.Serializer):
    reason = fields.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=MAX_CANCEL_REASON,
        help_text="Why, kept in the customer's decision log.",
    )


class MessageSerializer(serializers.ModelSerializer):
    profile_id = serializers.IntegerField()

    class Meta:
        model = Message
        fields = [
            "id",
            "profile_id",
            "channel",
            "category",
            "topic",
            "priority",
            "status",
            "source",
            "journey_id",
            "journey_version",
            "journey_node_id",
            "enrollment_id",
            "subject",
            "address",
            "provider_message_id",
            "attempts",
            "error",
            "next_attempt_at",
            "created_at",
            "sent_at",
            "delivered_at",
            "opened_at",
            "clicked_at",
        ]


class DecisionSerializer(serializers.ModelSerializer):
    message_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = MessageDecision
        fields = [
            "id",
            "message_id",
            "channel",
            "action",
            "reason",
            "detail",
            "until",
            "source",
            "journey_id",
            "journey_version",
            "journey_node_id",
            "enrollment_id",
            "created_at",
        ]


class ConsentSerializer(serializers.ModelSerializer):
    message_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = Consent
        fields = ["id", "channel", "topic", "status", "source", "message_id", "created_at"]


class ConsentChangeSerializer(serializers.Serializer):
    """A consent change the customer made elsewhere (a preference centre, a
    signup form, a CRM). ``channel`` empty means every channel."""

    channel = fields.CharField(max_length=64, required=False, default="", allow_blank=True)
    topic = fields.SlugField(max_length=64, required=False, default=Consent.MARKETING)
    status = fields.ChoiceField(choices=[s for s, _ in Consent.STATUSES])
    source = fields.SlugField(max_length=32, required=False, default="api")


DecisionPageSerializer = page_serializer("DecisionPage", DecisionSerializer)
ConsentPageSerializer = page_serializer("ConsentPage", ConsentSerializer)
