"""The inbox over HTTP.

``POST /api/inbox/tokens`` (secret key) issues a token for one customer; the
customer's app then calls ``/inbox/messages`` with ``Authorization: Bearer
<inbox token>`` and sees only that customer's inbox, in that workspace.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import pagination
from engage.api.schema import error
from engage.api.scoping import workspace_of
from engage.inbox import selectors, services, tokens
from engage.plugins.manager import get_channel_class
from engage.profiles.identifiers import InvalidIdentifier
from engage.profiles.models import Identity
from engage.profiles.selectors import canonical_profile, profile_by_identifier

from .authentication import InboxTokenAuthentication
from .serializers import (
    TOKEN_REQUEST,
    EntrySerializer,
    InboxSerializer,
    TokenSerializer,
    token_request,
)

CHANNEL_ID = "inapp"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def entry_json(entry) -> dict:
    return {
        "id": entry.pk,
        "subject": entry.message.subject,
        "body": entry.message.body,
        "created_at": entry.created_at,
        "read_at": entry.read_at,
    }


class InboxTokenView(APIView):
    """Issue an inbox token for the customer with ``user_id`` (or ``profile_id``)."""

    @extend_schema(
        request=TOKEN_REQUEST,
        responses={201: TokenSerializer, 404: error("No such customer in the key's workspace.")},
        tags=["inbox"],
    )
    def post(self, request):
        workspace = workspace_of(request)
        data = token_request(request.data)
        if "user_id" in data:
            try:
                profile = profile_by_identifier(
                    workspace=workspace,
                    kind=Identity.USER_ID,
                    value=data["user_id"],
                )
            except InvalidIdentifier as exc:
                raise ValidationError({"user_id": str(exc)}) from None
        else:
            profile = canonical_profile(workspace=workspace, profile_id=data["profile_id"])
        if profile is None:
            raise NotFound("no such profile in this workspace")
        token = tokens.issue(workspace_id=workspace.pk, profile_id=profile.pk)
        return Response(
            {"token": token, "profile_id": profile.pk, "expires_in": tokens.MAX_AGE_SECONDS},
            status=status.HTTP_201_CREATED,
        )


class InboxView(APIView):
    authentication_classes = [InboxTokenAuthentication]
    permission_classes = []

    @extend_schema(
        operation_id="inbox_messages_list",
        responses=InboxSerializer,
        tags=["inbox"],
        description="The customer's messages, newest first, without dismissed ones. "
        "Cursor-paginated as every list is: follow `next` for older messages, `previous` "
        "for newer ones. `unread` counts the whole inbox, not the page.",
        parameters=pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
    )
    def get(self, request):
        reader = request.user
        entries = selectors.visible_entries(
            workspace_id=reader.workspace_id, profile_id=reader.profile_id
        )
        page = pagination.page_of(
            request,
            entries,
            order=("-created_at", "-id"),
            default_limit=DEFAULT_LIMIT,
            max_limit=MAX_LIMIT,
        )
        body = pagination.paged(request, page, [entry_json(e) for e in page.rows])
        body["unread"] = entries.filter(read_at__isnull=True).count()
        return Response(body)


class InboxEntryActionView(APIView):
    """``read`` (records an open) or ``dismiss`` one entry of the token's inbox."""

    authentication_classes = [InboxTokenAuthentication]
    permission_classes = []
    action = ""

    @extend_schema(request=None, responses=EntrySerializer, tags=["inbox"])
    def post(self, request, entry_id: int):
        reader = request.user
        entry = (
            selectors.visible_entries(
                workspace_id=reader.workspace_id, profile_id=reader.profile_id
            )
            .filter(pk=entry_id)
            .first()
        )
        if entry is None:
            raise NotFound("no such message in this inbox")
        if self.action == "read":
            entry = services.mark_read(entry, channel=get_channel_class(CHANNEL_ID))
        else:
            entry = services.dismiss(entry)
        return Response(entry_json(entry))
