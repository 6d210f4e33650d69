"""How the DRF endpoints describe themselves in OpenAPI: the key, and every error they answer.

An operation's error answers follow from what it is, not from what each view
remembered to declare: one that reads input (a body or a query parameter) can
answer 400, and 415 for a body that is not JSON; one that needs a key 401,
and 403 when a key of the wrong kind is refused; one with an id in its path
404. ``AutoSchema`` adds those, all with the one error body of
``engage.api.errors``, so the schema lists every status a client can get
(the fuzzer in the test suite holds the server to it).

One status does not come from engage: an operation with parameters can be
sent a request line longer than the HTTP server reads (gunicorn: 4094 bytes),
which the server refuses with its own HTML 414 before engage sees it.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object, force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer."""

    detail = serializers.CharField(help_text="What is wrong, starting with the field's name.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each bad field, parameter or JSON path (`rules.and[2].event.name`) and "
        "its reasons; `{}` when no field is at fault (a missing key, an unknown id).",
    )


def error(description: str) -> OpenApiResponse:
    """An error answer for ``@extend_schema(responses=...)`` that says when it happens."""
    return OpenApiResponse(ErrorSerializer, description=description)


# What a secret-key operation answers a missing or wrong key, said for that key.
AUTH_ERRORS = {
    401: error("No key, or an unknown or revoked key."),
    403: error("A write key: it can only ingest events."),
}

# An operation on one customer, addressed by profile id, and its answer when there is none.
PROFILE_ID = OpenApiParameter(
    "profile_id",
    int,
    OpenApiParameter.PATH,
    description="A profile id. The id of a profile merged into another resolves to the "
    "profile it was merged into, whose id the response carries.",
)
PROFILE_NOT_FOUND = {404: error("No such profile in the key's workspace.")}

DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each bad field or parameter and the reason.",
    "401": "No credentials, or unknown, expired or revoked ones.",
    "403": "A key that may not do this (a write key can only send events).",
    "404": "No such object in the key's workspace (or an id that cannot be one).",
    "415": "A body that is not JSON (`Content-Type: application/json`).",
}


URI_TOO_LONG = OpenApiResponse(
    OpenApiTypes.STR,
    description="A request line longer than the HTTP server reads (gunicorn: 4094 bytes), "
    "refused by that server with its own page, before engage.",
)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the error answers every operation can give."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_codes(operation):
            if code not in responses:
                responses[code] = self._get_response_for_code(error(DESCRIPTIONS[code]), code)
        if operation.get("parameters"):
            responses["414"] = self._get_response_for_code(
                URI_TOO_LONG, "414", media_types=["text/html"]
            )
        return operation

    def _get_request_for_media_type(self, serializer, direction="request"):
        """A ``oneOf`` body is required when each of its forms requires a field
        (drf-spectacular only looks for required fields of a plain serializer)."""
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if isinstance(serializer, PolymorphicProxySerializer):
            forms = serializer.serializers
            forms = forms.values() if isinstance(forms, dict) else forms
            required = all(
                any(field.required for field in force_instance(form).fields.values())
                for form in forms
            )
        return schema, required

    def _error_codes(self, operation: dict) -> list[str]:
        places = {parameter["in"] for parameter in operation.get("parameters", [])}
        body = "requestBody" in operation
        codes = []
        if body or "query" in places:
            codes.append("400")
        if self.view.get_authenticators():
            codes.append("401")
        if self.view.get_permissions():
            codes.append("403")
        if "path" in places:
            codes.append("404")
        if body:
            codes.append("415")
        return codes


class SecretKeyScheme(OpenApiAuthenticationExtension):
    """The workspace secret key as a Bearer scheme, so Swagger UI offers an "Authorize" box."""

    target_class = "engage.workspaces.authentication.SecretKeyAuthentication"
    name = "secretKey"

    def get_security_definition(self, auto_schema):
        definition = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix=self.target.keyword,
        )
        definition["description"] = "A workspace secret key (sk_...). Write keys get 403."
        return definition


def secret_key_first(result, generator, request, public):
    """Put the secret-key scheme first in ``securitySchemes``: Swagger UI's
    Authorize dialog lists them in the document's order, and the management
    API's key belongs in the first box (components come sorted by name, which
    would put the in-app inbox's customer token there)."""
    schemes = result.get("components", {}).get("securitySchemes")
    if schemes and SecretKeyScheme.name in schemes:
        first = {SecretKeyScheme.name: schemes[SecretKeyScheme.name]}
        result["components"]["securitySchemes"] = first | schemes
    return result
