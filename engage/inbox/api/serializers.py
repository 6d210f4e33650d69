"""Shapes of the inbox API, for the OpenAPI document and input checks."""

from django.core.validators import RegexValidator
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from engage.api import fields
from engage.api.pagination import page_serializer


class TokenForUserSerializer(serializers.Serializer):
    user_id = fields.CharField(
        max_length=255,
        # not only spaces: they are trimmed, and an empty user id names nobody
        validators=[RegexValidator(r"\S")],
        help_text="The customer's user id.",
    )


class TokenForProfileSerializer(serializers.Serializer):
    profile_id = fields.IntegerField(min_value=1, help_text="engage's profile id.")


TOKEN_REQUEST = PolymorphicProxySerializer(
    component_name="InboxToken",
    serializers=[TokenForUserSerializer, TokenForProfileSerializer],
    resource_type_field_name=None,
)


def token_request(data) -> dict:
    """The customer a token is asked for: ``{"user_id"}`` or ``{"profile_id"}``, exactly one.

    Raises ValidationError naming the field otherwise.
    """
    if not isinstance(data, dict):
        raise serializers.ValidationError({"": ["must be an object with user_id or profile_id"]})
    if "user_id" in data and "profile_id" in data:
        raise serializers.ValidationError({"profile_id": ["give user_id or profile_id, not both"]})
    if "user_id" not in data and "profile_id" not in data:
        raise serializers.ValidationError({"user_id": ["required (or profile_id)"]})
    form = TokenForUserSerializer if "user_id" in data else TokenForProfileSerializer
    serializer = form(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


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


class InboxSerializer(page_serializer("InboxPage", EntrySerializer)):
    unread = serializers.IntegerField(help_text="Unread messages in the whole inbox.")
