"""Output shapes of the privacy API."""

from rest_framework import serializers


class ErasedCountsSerializer(serializers.Serializer):
    profiles = serializers.IntegerField()
    identities = serializers.IntegerField()
    events = serializers.IntegerField()
    merges = serializers.IntegerField()
    tables = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rows deleted per table (app.Model)."
    )


class ErasureSerializer(serializers.Serializer):
    profile_id = serializers.IntegerField()
    privacy_request_id = serializers.IntegerField(source="request.id")
    suppressed_identifiers = serializers.IntegerField(
        help_text="Identifiers whose future events are dropped (stored hashed)."
    )
    erased = ErasedCountsSerializer(source="*")
