"""How a request names its customer: ``profile_id``, or one identifier
(``user_id``, ``email``...). Sending a message and recording an answer take
the customer the same way, so a client learns one shape and gets the same
errors from both."""

from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError

from engage.api import fields
from engage.profiles.identifiers import InvalidIdentifier
from engage.profiles.models import Identity, Profile
from engage.profiles.selectors import canonical_profile, profile_by_identifier
from engage.workspaces.models import Workspace

IDENTIFIER_KINDS = Identity.BUILTIN_KINDS


class CustomerSerializer(serializers.Serializer):
    """The two ways to name the customer; a subclass's ``validate`` decides
    which error names a request that gives both or neither."""

    profile_id = fields.IntegerField(required=False, min_value=1)
    identifier = serializers.DictField(
        child=fields.CharField(max_length=255),
        required=False,
        help_text='One identifier, e.g. {"email": "ada@example.com"}.',
    )

    def validate_identifier(self, value):
        if len(value) != 1:
            raise serializers.ValidationError("give exactly one identifier kind and value")
        kind = next(iter(value))
        if kind not in IDENTIFIER_KINDS:
            raise serializers.ValidationError(
                f"{kind!r} is not one of {', '.join(IDENTIFIER_KINDS)}"
            )
        return value


def customer_of(workspace: Workspace, data: dict) -> Profile:
    """The canonical profile that validated ``data`` names, or a 404 naming
    the field it was looked up by (a merged id resolves to its survivor)."""
    if "profile_id" in data:
        profile = canonical_profile(workspace=workspace, profile_id=data["profile_id"])
        field = "profile_id"
    else:
        [(kind, value)] = data["identifier"].items()
        field = "identifier"
        try:
            profile = profile_by_identifier(workspace=workspace, kind=kind, value=value)
        except InvalidIdentifier as exc:
            raise ValidationError({field: [str(exc)]}) from None
    if profile is None:
        raise NotFound(f"{field}: no such customer in this workspace")
    return profile
