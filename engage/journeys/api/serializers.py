"""Shapes of the journey API. A definition is checked by the services (each
error names its JSON path, ``definition.nodes.pause.duration``); these
serializers only check the envelope."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from engage.api import fields
from engage.api.pagination import page_serializer
from engage.journeys import selectors
from engage.journeys.models import Enrollment, Journey, JourneyVersion
from engage.journeys.services import MAX_NAME

DEFINITION_HELP = (
    "The graph: trigger, entry, goal, exit, start and nodes (an object of node id to node). "
    "See docs/journeys.md."
)


@extend_schema_field({"type": "object"})
class DefinitionField(serializers.JSONField):
    """A journey definition: checked whole by the services, which name each bad path."""

    default_error_messages = {"invalid": "must be an object."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        return super().to_internal_value(data)


class JourneySerializer(serializers.ModelSerializer):
    live_version = serializers.SerializerMethodField(
        help_text="The number of the version new customers enter; null before a publish."
    )

    class Meta:
        model = Journey
        fields = ["id", "name", "description", "status", "live_version", "created_at", "updated_at"]

    def get_live_version(self, journey: Journey) -> int | None:
        return journey.live_version.number if journey.live_version_id else None


JourneyPageSerializer = page_serializer("JourneyPage", JourneySerializer)


class JourneyInputSerializer(serializers.Serializer):
    name = fields.CharField(max_length=MAX_NAME)
    description = fields.CharField(required=False, allow_blank=True, default="")
    definition = DefinitionField(
        required=False, help_text=DEFINITION_HELP + " When given, it is saved as draft version 1."
    )


class JourneyChangeSerializer(serializers.Serializer):
    name = fields.CharField(max_length=MAX_NAME, required=False)
    description = fields.CharField(required=False, allow_blank=True)


class VersionSerializer(serializers.ModelSerializer):
    published = serializers.SerializerMethodField(help_text="Published versions never change.")

    class Meta:
        model = JourneyVersion
        fields = ["number", "definition", "published", "published_at", "created_at"]

    def get_published(self, version: JourneyVersion) -> bool:
        return version.published_at is not None


VersionPageSerializer = page_serializer("JourneyVersionPage", VersionSerializer)


class VersionInputSerializer(serializers.Serializer):
    definition = DefinitionField(help_text=DEFINITION_HELP)


MIGRATE_HELP = (
    "Move the customers walking earlier versions onto this one: an object of old node id to "
    "new node id, or to null to end their walk with `version_removed`. A node it does not name "
    "keeps its id when the new version has it, else its customers leave with "
    "`version_removed`. Left out: everyone stays on the version they entered."
)


NODE_MAPPING_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "string", "nullable": True},
}


@extend_schema_field(NODE_MAPPING_SCHEMA)
class MigrateField(serializers.JSONField):
    """A node mapping: checked by the services, which name each bad ``migrate.<old id>``."""

    default_error_messages = {"invalid": "must be an object of old node id to new node id."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        return super().to_internal_value(data)


class PublishInputSerializer(serializers.Serializer):
    migrate = MigrateField(required=False, help_text=MIGRATE_HELP)


class MoveSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version the customers walk now.")
    node = serializers.CharField(help_text="The node they stand at.")
    to = serializers.CharField(
        allow_null=True, help_text="The new version's node they go to; null: they leave."
    )
    customers = serializers.IntegerField()


class PublishPlanSerializer(serializers.Serializer):
    moves = MoveSerializer(many=True)


class NodeCountSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    type = serializers.CharField()
    entered = serializers.IntegerField(help_text="How many arrived at the node, ever.")
    waiting = serializers.IntegerField(
        help_text="How many stand at the node now: parked at it, or due to run it."
    )
    left = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many left, by each edge taken."
    )


class CountsSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    nodes = NodeCountSerializer(many=True)


class EnrollmentSerializer(serializers.ModelSerializer):
    journey_id = serializers.IntegerField()
    journey_name = serializers.CharField(source="journey.name")
    version = serializers.IntegerField(source="version.number")
    status = serializers.SerializerMethodField(
        help_text="`active`, or the reason it ended: " + ", ".join(selectors.STATUSES[2:]) + "."
    )

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "journey_id",
            "journey_name",
            "version",
            "profile_id",
            "node_id",
            "status",
            "waiting",
            "waiting_for",
            "next_run_at",
            "visit",
            "trigger_event_id",
            "entered_at",
            "ended_at",
        ]

    def get_status(self, enrollment: Enrollment) -> str:
        return enrollment.end_reason if enrollment.ended_at else selectors.ACTIVE


EnrollmentPageSerializer = page_serializer("EnrollmentPage", EnrollmentSerializer)


class EnrollInputSerializer(serializers.Serializer):
    profile_id = fields.IntegerField(min_value=1)
