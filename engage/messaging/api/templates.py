"""Message templates over HTTP (secret key), so an integrating engineer (and
later a journey) needs no admin to write content. Scoped to the key's
workspace: another workspace's template is a plain 404. A template with
Liquid that does not parse is refused naming the field and the line; one that
a queued or deferred message still uses cannot be deleted (409).
"""

from django.core.validators import validate_email
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import fields, pagination
from engage.api.exceptions import Conflict
from engage.api.schema import error
from engage.api.scoping import profile_or_404, workspace_of
from engage.messaging import services
from engage.messaging.models import MessageTemplate
from engage.messaging.rendering import TemplateError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

VARIANTS_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {n: {"type": "string"} for n in ("subject", "body", "html")},
        "additionalProperties": False,
    },
}


@extend_schema_field(VARIANTS_SCHEMA)
class VariantsField(serializers.JSONField):
    """Locale ("fr", "pt-BR") to {subject, body, html}; a missing part uses the default's."""

    default_error_messages = {
        "invalid": "must be an object of locale to an object of subject, body and html strings."
    }

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        errors = {}
        for locale, content in data.items():
            if not locale or len(locale) > 35:
                errors[locale] = ["a locale has 1 to 35 characters"]
            elif not isinstance(content, dict) or not content:
                errors[locale] = ["must be an object with subject, body or html"]
            else:
                for name, value in content.items():
                    if name not in ("subject", "body", "html"):
                        errors[f"{locale}.{name}"] = ["unknown part: subject, body or html"]
                    elif not isinstance(value, str):
                        errors[f"{locale}.{name}"] = ["must be a string"]
        if errors:
            raise ValidationError(errors)
        return data


class TemplateSerializer(serializers.ModelSerializer):
    variants = VariantsField(required=False)

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "name",
            "channel",
            "subject",
            "body",
            "html",
            "variants",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


TemplatePageSerializer = pagination.page_serializer("TemplatePage", TemplateSerializer)


class TemplateInputSerializer(serializers.Serializer):
    name = fields.SlugField(max_length=100)
    channel = fields.CharField(max_length=64)
    subject = fields.CharField(max_length=998, required=False, allow_blank=True, default="")
    body = fields.CharField(max_length=100_000, required=False, allow_blank=True, default="")
    html = fields.CharField(max_length=500_000, required=False, allow_blank=True, default="")
    variants = VariantsField(required=False, default=dict)


class TemplateChangeSerializer(TemplateInputSerializer):
    name = fields.SlugField(max_length=100, required=False)
    channel = fields.CharField(max_length=64, required=False)
    subject = fields.CharField(max_length=998, required=False, allow_blank=True)
    body = fields.CharField(max_length=100_000, required=False, allow_blank=True)
    html = fields.CharField(max_length=500_000, required=False, allow_blank=True)
    variants = VariantsField(required=False)


class TemplatePreviewInputSerializer(serializers.Serializer):
    profile_id = fields.IntegerField(min_value=1)
    locale = fields.CharField(
        max_length=35,
        required=False,
        allow_blank=True,
        help_text="The variant to render; the customer's own locale when left out.",
    )


class TemplateRenderedSerializer(serializers.Serializer):
    locale = serializers.CharField()
    subject = serializers.CharField()
    body = serializers.CharField()
    html = serializers.CharField()


class TemplateTestSendInputSerializer(serializers.Serializer):
    to = fields.CharField(
        max_length=320, help_text="The address on the template's channel (an email address)."
    )
    profile_id = fields.IntegerField(
        min_value=1, required=False, help_text="Render for this customer; empty traits if not."
    )
    locale = fields.CharField(max_length=35, required=False, allow_blank=True, default="")


class TemplateTestSendSerializer(serializers.Serializer):
    to = serializers.CharField()
    provider_message_id = serializers.CharField()


def _template_or_404(request: Request, template_id: int) -> MessageTemplate:
    template = MessageTemplate.objects.filter(
        workspace=workspace_of(request), pk=template_id
    ).first()
    if template is None:
        raise NotFound("id: no template with this id in this workspace.")
    return template


def _save(request: Request, template: MessageTemplate | None, data: dict) -> MessageTemplate:
    try:
        return services.save_template(workspace=workspace_of(request), template=template, **data)
    except services.TemplateInvalid as exc:
        raise ValidationError(exc.errors) from None


def _rendering_failed(exc: TemplateError) -> ValidationError:
    field, _, reason = str(exc).partition(": ")
    return ValidationError({field: [reason]})


class TemplateListView(APIView):
    @extend_schema(
        operation_id="templates_list",
        responses=TemplatePageSerializer,
        summary="List message templates",
        description="By name. Cursor-paginated as every list is: follow `next` for more, "
        "`previous` to go back.",
        parameters=pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
    )
    def get(self, request: Request) -> Response:
        page = pagination.page_of(
            request,
            MessageTemplate.objects.filter(workspace=workspace_of(request)),
            order=("name",),
            default_limit=DEFAULT_LIMIT,
            max_limit=MAX_LIMIT,
        )
        data = TemplateSerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))

    @extend_schema(
        operation_id="templates_create",
        request=TemplateInputSerializer,
        responses={201: TemplateSerializer},
        summary="Create a message template",
        description="Liquid that does not parse is refused naming the field and the line "
        '(`{"body": ["line 3: ..."]}`, `variants.fr.subject`).',
    )
    def post(self, request: Request) -> Response:
        data = TemplateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = _save(request, None, data.validated_data)
        return Response(TemplateSerializer(template).data, status=201)


class TemplateDetailView(APIView):
    @extend_schema(
        operation_id="templates_retrieve", responses=TemplateSerializer, summary="A template"
    )
    def get(self, request: Request, template_id: int) -> Response:
        return Response(TemplateSerializer(_template_or_404(request, template_id)).data)

    @extend_schema(
        operation_id="templates_partial_update",
        request=TemplateChangeSerializer,
        responses=TemplateSerializer,
        summary="Change a template",
        description="Fields left out keep their value; `variants` is replaced whole.",
    )
    def patch(self, request: Request, template_id: int) -> Response:
        template = _template_or_404(request, template_id)
        data = TemplateChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = _save(request, template, data.validated_data)
        return Response(TemplateSerializer(template).data)

    @extend_schema(
        operation_id="templates_destroy",
        responses={204: None, 409: error("A queued or deferred message uses the template.")},
        summary="Delete a template",
    )
    def delete(self, request: Request, template_id: int) -> Response:
        template = _template_or_404(request, template_id)
        try:
            services.delete_template(template)
        except services.TemplateInUse as exc:
            raise Conflict("id", exc.uses) from None
        return Response(status=204)


class TemplatePreviewView(APIView):
    @extend_schema(
        operation_id="templates_preview",
        request=TemplatePreviewInputSerializer,
        responses=TemplateRenderedSerializer,
        summary="Render a template for a customer",
        description="The subject, body and html a send to this customer would carry: their "
        "traits, identities and current scores, in their locale's variant. Nothing is sent.",
    )
    def post(self, request: Request, template_id: int) -> Response:
        template = _template_or_404(request, template_id)
        data = TemplatePreviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = profile_or_404(request, data.validated_data["profile_id"], field="profile_id")
        try:
            locale, content = services.preview_template(
                template=template, profile=profile, locale=data.validated_data.get("locale")
            )
        except TemplateError as exc:
            raise _rendering_failed(exc) from None
        return Response(
            {
                "locale": locale,
                "subject": content.subject,
                "body": content.body,
                "html": content.html,
            }
        )


class TemplateTestSendView(APIView):
    @extend_schema(
        operation_id="templates_test_send",
        request=TemplateTestSendInputSerializer,
        responses=TemplateTestSendSerializer,
        summary="Send a template once to an address",
        description="Through the workspace's channel for the template, without policy, "
        "consent or a stored message: a proof for the sender's own inbox. 400 naming "
        "`channel` when the workspace has not enabled it or its server did not take the "
        "mail, `to` when the server refused the address.",
    )
    def post(self, request: Request, template_id: int) -> Response:
        template = _template_or_404(request, template_id)
        data = TemplateTestSendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        to = data.validated_data["to"]
        if template.channel == "email":
            try:
                validate_email(to)
            except Exception:
                raise ValidationError({"to": ["must be an email address"]}) from None
        profile = None
        if "profile_id" in data.validated_data:
            profile = profile_or_404(request, data.validated_data["profile_id"], field="profile_id")
        try:
            provider_id = services.send_test(
                template=template, to=to, profile=profile, locale=data.validated_data["locale"]
            )
        except TemplateError as exc:
            raise _rendering_failed(exc) from None
        except services.TestSendRefused as exc:
            raise ValidationError({exc.field: [exc.reason]}) from None
        return Response({"to": to, "provider_message_id": provider_id})
