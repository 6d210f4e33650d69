"""Shapes of the segment API. Input is checked by the services (which name
the JSON path of a bad rule); these serializers only check the envelope."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from engage.api import fields
from engage.api.pagination import page_serializer
from engage.segments.models import Segment, SegmentMembership
from engage.segments.services import MAX_UPLOAD
from engage.segments.summary import describe

RULES_HELP = (
    "A rule tree: an object with exactly one key naming a condition "
    "(and, or, not, trait, event, identity, consent, score, segment). See docs/segments.md."
)
RULE_TREE = {"type": "object", "minProperties": 1, "maxProperties": 1}


@extend_schema_field(RULE_TREE)
class RulesField(serializers.JSONField):
    """A rule tree: checked in full by the services, which name the bad node's path."""

    default_error_messages = {"invalid": "must be an object with exactly one key."}

    def to_internal_value(self, data):
        if not isinstance(data, dict) or len(data) != 1:
            self.fail("invalid")
        return super().to_internal_value(data)


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


SegmentPageSerializer = page_serializer("SegmentPage", SegmentSerializer)


class SegmentInputSerializer(serializers.Serializer):
    name = fields.CharField(max_length=200)
    description = fields.CharField(required=False, allow_blank=True, default="")
    kind = fields.ChoiceField(choices=Segment.KINDS, default=Segment.DYNAMIC)
    rules = RulesField(
        required=False,
        allow_null=True,
        default=None,
        help_text=RULES_HELP + " Required for a dynamic segment; null for a static one.",
    )


class SegmentChangeSerializer(serializers.Serializer):
    """A change: only the fields given change (no defaults, unlike creation)."""

    name = fields.CharField(max_length=200, required=False)
    description = fields.CharField(required=False, allow_blank=True)
    kind = fields.ChoiceField(
        choices=Segment.KINDS,
        required=False,
        help_text="Only the segment's own kind is accepted: a kind cannot change.",
    )
    rules = RulesField(required=False, allow_null=True, help_text=RULES_HELP)


class MemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = SegmentMembership
        fields = ["profile_id", "entered_at"]


MembersPageSerializer = page_serializer("MembersPage", MemberSerializer)


class IsMemberSerializer(serializers.Serializer):
    segment_id = serializers.IntegerField()
    profile_id = serializers.IntegerField(help_text="The canonical profile (after merges).")
    member = serializers.BooleanField()
    entered_at = serializers.DateTimeField(allow_null=True)


class IdentifierSerializer(serializers.Serializer):
    kind = fields.CharField(help_text="email, phone, user_id, ... or an external kind.")
    value = fields.CharField()


class UploadSerializer(serializers.Serializer):
    identifiers = serializers.ListField(child=IdentifierSerializer(), max_length=MAX_UPLOAD)
    replace = fields.BooleanField(default=False)


class UploadResultSerializer(serializers.Serializer):
    matched = serializers.IntegerField()
    entered = serializers.IntegerField()
    exited = serializers.IntegerField()
    unknown = serializers.ListField(child=serializers.CharField())


class PreviewInputSerializer(serializers.Serializer):
    rules = RulesField(help_text=RULES_HELP)


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sample = serializers.ListField(child=serializers.IntegerField())
    summary = serializers.CharField()
