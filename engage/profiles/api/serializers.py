"""Output shapes of the profile API. Read-only: profiles change through events."""

from rest_framework import serializers

from engage.events.models import Event
from engage.profiles.models import Identity, Profile, ProfileMerge


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Identity
        fields = ["kind", "value"]


class MergeSerializer(serializers.ModelSerializer):
    merged_profile_id = serializers.IntegerField(source="merged_id")
    survivor_profile_id = serializers.IntegerField(source="survivor_id")

    class Meta:
        model = ProfileMerge
        fields = [
            "id",
            "merged_profile_id",
            "survivor_profile_id",
            "reason",
            "detail",
            "message_id",
            "merged_at",
            "split_at",
        ]


class ProfileSerializer(serializers.ModelSerializer):
    """A customer, from a profile prepared by ``selectors.customer_view``."""

    identities = IdentitySerializer(many=True, source="identity_list")
    traits = serializers.DictField(help_text="Latest value of each trait, across merged profiles.")
    merged_profile_ids = serializers.ListField(
        child=serializers.IntegerField(),
        source="merged_ids",
        help_text="Ids of profiles merged into this one; they resolve to it.",
    )
    merges = MergeSerializer(many=True, source="merge_history")

    class Meta:
        model = Profile
        fields = [
            "id",
            "identities",
            "traits",
            "first_seen_at",
            "last_seen_at",
            "timezone",
            "locale",
            "created_at",
            "merged_profile_ids",
            "merges",
        ]


class TimelineEventSerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="name", help_text="Track event, page or screen name.")
    quarantine_reason = serializers.CharField(
        help_text="Empty, or why the event is quarantined: its stored row cannot be read or "
        "shown, so properties, traits and context are left empty."
    )

    class Meta:
        model = Event
        fields = [
            "id",
            "type",
            "event",
            "timestamp",
            "received_at",
            "channel",
            "message_id",
            "properties",
            "traits",
            "context",
            "quarantine_reason",
        ]


class TimelinePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="Older events; null on the last page.")
    previous = serializers.URLField(
        allow_null=True, help_text="Newer events; null on the first page."
    )
    results = TimelineEventSerializer(many=True)


class SplitSerializer(serializers.Serializer):
    merge = MergeSerializer()
    profile = ProfileSerializer(help_text="The restored profile, with what it brought back.")
