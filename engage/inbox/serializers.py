"""Shapes of the inbox API, for the OpenAPI document and input checks."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import serializers

from engage.api import fields

AUTH_SCHEME = "Bearer"


class InboxTokenScheme(OpenApiAuthenticationExtension):
    target_class = "engage.inbox.api.InboxTokenAuthentication"
    name = "inboxToken"

    def get_security_definition(self, auto_schema):
        definition = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=AUTH_SCHEME
        )
        definition["description"] = "A per-customer inbox token from POST /api/inbox/tokens."
        return definition


class TokenRequestSerializer(serializers.Serializer):
    """The customer the token is for: ``user_id`` or ``profile_id``, exactly one."""

    user_id = fields.CharField(required=False, max_length=255, help_text="The customer's user id.")
    profile_id = fields.IntegerField(
        required=False, min_value=1, help_text="Or engage's profile id."
    )

    def validate(self, attrs):
        if "user_id" in attrs and "profile_id" in attrs:
            raise serializers.ValidationError(
                {"profile_id": "give user_id or profile_id, not both"}
            )
        if not attrs:
            raise serializers.ValidationError({"user_id": "required (or profile_id)"})
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    profile_id = serializers.IntegerField()
    expires_in = serializers.IntegerField(help_text="Seconds.")


class EntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class InboxSerializer(serializers.Serializer):
    messages = EntrySerializer(many=True)
    unread = serializers.IntegerField()
