"""The messaging API (secret key): send a message, read it, and read why a
customer did or did not get messages. Every read is scoped to the key's workspace."""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import pagination
from engage.api.customers import customer_of
from engage.api.exceptions import Conflict
from engage.api.schema import error
from engage.api.scoping import profile_or_404, workspace_of
from engage.messaging import consent, selectors, services
from engage.messaging.models import Message, MessageTemplate
from engage.messaging.rendering import Content, TemplateError

from .serializers import (
    CancelSerializer,
    ConsentChangeSerializer,
    ConsentPageSerializer,
    ConsentSerializer,
    DecisionPageSerializer,
    DecisionSerializer,
    MessageSerializer,
    SendSerializer,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# Newest first; the id breaks ties between rows written in the same instant.
NEWEST_FIRST = ("-created_at", "-id")


class SendMessageView(APIView):
    @extend_schema(
        request=SendSerializer,
        responses={
            202: MessageSerializer,
            200: MessageSerializer,
            404: error("No such customer in the key's workspace."),
        },
        summary="Send a message to a customer",
        description="Queues a message, or schedules it for `send_at`; policy (consent, caps, "
        "quiet hours) is applied when it is sent. The same idempotency_key returns the "
        "existing message (200) instead of sending again.",
    )
    def post(self, request):
        serializer = SendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = workspace_of(request)
        profile = customer_of(workspace, data)
        template = None
        if "template" in data:
            template = MessageTemplate.objects.filter(
                workspace=workspace, name=data["template"]
            ).first()
            if template is None:
                raise ValidationError({"template": [f"no template named {data['template']!r}"]})
        try:
            with transaction.atomic():
                created = services.create_message(
                    workspace=workspace,
                    profile=profile,
                    channel=data["channel"],
                    category=data["category"],
                    topic=data["topic"],
                    priority=data["priority"],
                    idempotency_key=data["idempotency_key"],
                    template=template,
                    content=None
                    if template
                    else Content(subject=data["subject"], body=data["body"], html=data["html"]),
                    defaults=data["defaults"],
                    send_at=data["send_at"],
                    source=Message.API,
                )
        except services.MessageInputError as exc:
            raise ValidationError({exc.field: [exc.reason]}) from None
        except TemplateError as exc:
            field, _, reason = str(exc).partition(": ")
            raise ValidationError({field: [reason]}) from None
        created.message.refresh_from_db()
        return Response(
            MessageSerializer(created.message).data,
            status=status.HTTP_202_ACCEPTED if created.created else status.HTTP_200_OK,
        )


class MessageDetailView(APIView):
    @extend_schema(responses=MessageSerializer, summary="A message and its delivery state")
    def get(self, request, message_id: int):
        message = selectors.get_message(workspace=workspace_of(request), message_id=message_id)
        if message is None:
            raise NotFound("no such message in this workspace")
        return Response(MessageSerializer(message).data)


class CancelMessageView(APIView):
    @extend_schema(
        request=CancelSerializer,
        responses={
            200: MessageSerializer,
            404: error("No such message in the key's workspace."),
            409: error("The message is already sending or done; `errors.status` says which."),
        },
        summary="Cancel a message not yet sent",
        description="Stops a queued, deferred or scheduled message; the reason goes to the "
        "customer's decision log. Cancelling a cancelled message answers it unchanged.",
    )
    def post(self, request, message_id: int):
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = selectors.get_message(workspace=workspace_of(request), message_id=message_id)
        if message is None:
            raise NotFound("no such message in this workspace")
        try:
            message = services.cancel_message(
                message=message, reason=serializer.validated_data["reason"]
            )
        except services.NotCancellable as exc:
            raise Conflict("status", str(exc)) from None
        return Response(MessageSerializer(message).data)


class ProfileDecisionsView(APIView):
    @extend_schema(
        operation_id="profiles_decisions_list",
        responses=DecisionPageSerializer,
        summary="Why a customer did or did not get messages",
        description="The customer's ledger, newest first: every send, skip, deferral, retry, "
        "hold and cancellation, with its reason and `source` (message, journey, broadcast; "
        "for journeys the journey, version, node and enrollment ids). A decision may have "
        "no message. Cursor-paginated: follow `next` for older decisions, `previous` for "
        "newer ones.",
        parameters=pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
    )
    def get(self, request, profile_id: int):
        profile = profile_or_404(request, profile_id)
        decisions = selectors.decisions_for_profile(
            workspace=workspace_of(request), profile_id=profile.pk
        )
        page = _page(request, decisions)
        data = DecisionSerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))


def _page(request, rows) -> pagination.Page:
    return pagination.page_of(
        request, rows, order=NEWEST_FIRST, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT
    )


class ProfileConsentsView(APIView):
    @extend_schema(
        operation_id="profiles_consents_list",
        responses=ConsentPageSerializer,
        summary="A customer's consent history",
        description="Every consent change, newest first; the newest per channel and topic "
        "is the current state. Cursor-paginated: follow `next` for older changes, "
        "`previous` for newer ones.",
        parameters=pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
    )
    def get(self, request, profile_id: int):
        page = _page(request, consent.history(profile=profile_or_404(request, profile_id)))
        data = ConsentSerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))

    @extend_schema(
        request=ConsentChangeSerializer,
        responses={201: ConsentSerializer},
        summary="Record a consent change",
        description="Appends to the history. An opt-in lifts an earlier opt-out of the same "
        "channel and topic, so record one only when the customer gave it.",
    )
    def post(self, request, profile_id: int):
        profile = profile_or_404(request, profile_id)
        serializer = ConsentChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = consent.record_consent(profile=profile, **serializer.validated_data)
        return Response(ConsentSerializer(row).data, status=status.HTTP_201_CREATED)
