"""Shapes of the segment API. Input is checked by the services (which name
the JSON path of a bad rule); these serializers only check the envelope."""

from rest_framework import serializers

from engage.segments.models import Segment, SegmentMembership
from engage.segments.summary import describe


class SegmentSerializer(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField(help_text="The rules in plain language.")

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "rules",
            "summary",
            "member_count",
            "refreshed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "member_count", "refreshed_at", "created_at", "updated_at"]

    def get_summary(self, segment: Segment) -> str:
        return describe(segment.rules, segment_names=self.context.get("segment_names"))


class SegmentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=[Segment.DYNAMIC, Segment.STATIC], default=Segment.DYNAMIC
    )
    rules = serializers.JSONField(
        required=False, allow_null=True, default=None, help_text="See docs/segments.md."
    )


class MemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = SegmentMembership
        fields = ["profile_id", "entered_at"]


class MembersPageSerializer(serializers.Serializer):
    results = MemberSerializer(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text="Pass as `after` for the next page; null on the last page."
    )


class IsMemberSerializer(serializers.Serializer):
    segment_id = serializers.IntegerField()
    profile_id = serializers.IntegerField(help_text="The canonical profile (after merges).")
    member = serializers.BooleanField()
    entered_at = serializers.DateTimeField(allow_null=True)


class UploadSerializer(serializers.Serializer):
    identifiers = serializers.ListField(child=serializers.JSONField())
    replace = serializers.BooleanField(default=False)


class UploadResultSerializer(serializers.Serializer):
    matched = serializers.IntegerField()
    entered = serializers.IntegerField()
    exited = serializers.IntegerField()
    unknown = serializers.ListField(child=serializers.CharField())


class PreviewInputSerializer(serializers.Serializer):
    rules = serializers.JSONField()


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sample = serializers.ListField(child=serializers.IntegerField())
    summary = serializers.CharField()
