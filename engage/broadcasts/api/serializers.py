"""Shapes of the broadcast API. The services check what depends on stored
state (the segment, journey and template exist, the time is ahead, the rate
is in range) and name the field; these check the envelope."""

from rest_framework import serializers

from engage.api import fields
from engage.api.pagination import page_serializer
from engage.broadcasts.models import Broadcast
from engage.broadcasts.services import MAX_NAME, MAX_RATE
from engage.messaging.models import Message

LOCAL_TIME_HELP = "HH:MM on a 24-hour clock, for a daily broadcast."


class ProgressSerializer(serializers.Serializer):
    targeted = serializers.IntegerField(help_text="Members handed out so far, every run.")
    entered = serializers.IntegerField(
        help_text="Members who entered the journey, or messages queued for them."
    )
    refused = serializers.IntegerField(help_text="Members the journey's entry rules refused.")


class BroadcastSerializer(serializers.ModelSerializer):
    template = serializers.SerializerMethodField(help_text="The template's name (messages).")
    local_time = serializers.SerializerMethodField(help_text=LOCAL_TIME_HELP)
    progress = ProgressSerializer(source="*", read_only=True)

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "name",
            "segment_id",
            "action",
            "journey_id",
            "template",
            "channel",
            "category",
            "topic",
            "schedule",
            "send_at",
            "local_time",
            "timezone",
            "rate",
            "status",
            "error",
            "run",
            "run_date",
            "next_slice_at",
            "progress",
            "created_at",
            "updated_at",
        ]

    def get_template(self, broadcast: Broadcast) -> str | None:
        return broadcast.template.name if broadcast.template_id else None

    def get_local_time(self, broadcast: Broadcast) -> str | None:
        return f"{broadcast.local_time:%H:%M}" if broadcast.local_time else None


class BroadcastDetailSerializer(BroadcastSerializer):
    messages = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="The broadcast's messages by status (`sent`, `skipped` by policy, "
        "`cancelled`...), every run's.",
    )

    class Meta(BroadcastSerializer.Meta):
        fields = [*BroadcastSerializer.Meta.fields, "messages"]


BroadcastPageSerializer = page_serializer("BroadcastPage", BroadcastSerializer)


class BroadcastInputSerializer(serializers.Serializer):
    name = fields.CharField(max_length=MAX_NAME)
    segment_id = fields.IntegerField(min_value=1)
    action = fields.ChoiceField(choices=Broadcast.ACTIONS)
    journey_id = fields.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="The live journey to enter."
    )
    template = fields.CharField(
        max_length=100, required=False, allow_null=True, help_text="The template to send."
    )
    category = fields.ChoiceField(
        choices=Message.CATEGORIES, required=False, help_text="Of the message; marketing."
    )
    topic = fields.CharField(max_length=100, required=False, allow_blank=True)
    schedule = fields.ChoiceField(choices=Broadcast.SCHEDULES)
    send_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When a one-off runs; in the future."
    )
    local_time = fields.CharField(
        min_length=5, max_length=5, required=False, allow_null=True, help_text=LOCAL_TIME_HELP
    )
    timezone = fields.ChoiceField(choices=Broadcast.TIMEZONES, required=False)
    rate = fields.IntegerField(
        min_value=1, max_value=MAX_RATE, help_text="Members handed out per second at most."
    )


class BroadcastChangeSerializer(BroadcastInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
