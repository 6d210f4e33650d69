"""Shapes of the feedback API."""

from rest_framework import serializers

from engage.api import fields
from engage.api.customers import CustomerSerializer
from engage.feedback import scales, services
from engage.feedback.models import Feedback


class AnswerSerializer(CustomerSerializer):
    """An answer collected elsewhere (a kiosk, a call centre, another survey
    tool). The customer is ``profile_id``, or one identifier."""

    kind = fields.ChoiceField(
        choices=scales.KINDS,
        error_messages={
            "invalid_choice": "must be one of nps, csat, effort, not {input!r} (a Customer "
            "Effort answer is effort: ces is the Customer Engagement Score)"
        },
    )
    score = fields.IntegerField(help_text="NPS 0-10, CSAT 1-5, effort 1-7.")
    comment = fields.CharField(
        required=False, default="", allow_blank=True, max_length=services.MAX_COMMENT
    )
    channel = fields.CharField(
        required=False, default="", allow_blank=True, max_length=64, help_text="Where it was asked."
    )
    survey = fields.SlugField(
        required=False, max_length=64, help_text="The name of the survey it answers."
    )
    answered_at = serializers.DateTimeField(required=False, default=None, allow_null=True)
    idempotency_key = fields.CharField(
        required=False,
        default="",
        max_length=100,
        help_text="The same key again returns the answer stored under it (200), once.",
    )

    def validate(self, attrs):
        if ("profile_id" in attrs) == ("identifier" in attrs):
            raise serializers.ValidationError(
                {"identifier": "give profile_id or one identifier of the customer"}
            )
        try:
            services.check(attrs["kind"], attrs["score"], attrs["comment"])
        except services.FeedbackInputError as exc:
            raise serializers.ValidationError({exc.field: exc.reason}) from None
        return attrs


class FeedbackSerializer(serializers.ModelSerializer):
    profile_id = serializers.IntegerField()
    survey = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    message_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Feedback
        fields = [
            "id",
            "profile_id",
            "kind",
            "score",
            "category",
            "comment",
            "channel",
            "source",
            "survey",
            "message_id",
            "journey_id",
            "enrollment_id",
            "event_id",
            "answered_at",
        ]


class PeriodSerializer(serializers.Serializer):
    period = serializers.DateTimeField(help_text="The start of the day, week or month (UTC).")
    answers = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True)
    promoters = serializers.IntegerField(required=False, help_text="NPS only.")
    passives = serializers.IntegerField(required=False, help_text="NPS only.")
    detractors = serializers.IntegerField(required=False, help_text="NPS only.")
    nps = serializers.FloatField(
        required=False, allow_null=True, help_text="NPS only: promoters % minus detractors %."
    )


class SummarySerializer(serializers.Serializer):
    answers = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True)
    promoters = serializers.IntegerField(required=False)
    passives = serializers.IntegerField(required=False)
    detractors = serializers.IntegerField(required=False)
    nps = serializers.FloatField(required=False, allow_null=True)
    surveys_sent = serializers.IntegerField(help_text="Survey messages sent in the range.")
    response_rate = serializers.FloatField(
        allow_null=True, help_text="Answers to them ÷ them, 0 to 1."
    )


class ChannelFiguresSerializer(SummarySerializer):
    channel = serializers.CharField(help_text="Empty for answers with no channel.")


class JourneyFiguresSerializer(SummarySerializer):
    journey_id = serializers.IntegerField(allow_null=True, help_text="None: not from a journey.")


class ReportSerializer(serializers.Serializer):
    kind = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    interval = serializers.CharField()
    summary = SummarySerializer()
    over_time = PeriodSerializer(many=True)
    by_channel = ChannelFiguresSerializer(many=True)
    by_journey = JourneyFiguresSerializer(many=True)
