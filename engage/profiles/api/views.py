"""The single customer view over HTTP (secret key).

Views translate HTTP to selector and service calls; every read is scoped to
the key's workspace, so another workspace's profile is a plain 404.
"""

from django.http import QueryDict
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
)
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import pagination, parameters
from engage.api.exceptions import BadParameter, Conflict
from engage.api.schema import AUTH_ERRORS, PROFILE_ID, PROFILE_NOT_FOUND, error
from engage.api.scoping import profile_or_404, requested_by, workspace_of
from engage.events.models import Event
from engage.events.selectors import TimelineCursor, timeline
from engage.profiles import selectors
from engage.profiles.identifiers import InvalidIdentifier, check_kind
from engage.profiles.merge import split_merge
from engage.profiles.models import Identity, ProfileMerge

from .serializers import (
    MergeSerializer,
    ProfileSerializer,
    SplitSerializer,
    TimelineEventSerializer,
    TimelinePageSerializer,
)

DEFAULT_TIMELINE_LIMIT = 50
MAX_TIMELINE_LIMIT = 500
# The order of the timeline selector, newest first; the id breaks ties.
TIMELINE_ORDER = ("-timestamp", "-id")
LOOKUP_PARAMETERS = Identity.BUILTIN_KINDS
# A query parameter that must hold some text (an empty value is refused).
TEXT = {"type": "string", "minLength": 1}


PROFILE_EXAMPLE = OpenApiExample(
    "A customer seen on two devices",
    value={
        "id": 42,
        "identities": [
            {"kind": "anonymous_id", "value": "3f1c2e"},
            {"kind": "email", "value": "ada@example.com"},
            {"kind": "user_id", "value": "u-1815"},
        ],
        "traits": {"name": "Ada Lovelace", "plan": "pro"},
        "first_seen_at": "2025-01-05T10:00:00Z",
        "last_seen_at": "2025-03-01T18:30:00Z",
        "timezone": "Europe/London",
        "locale": "en-GB",
        "created_at": "2025-01-05T10:00:01Z",
        "merged_profile_ids": [57],
        "merges": [
            {
                "id": 7,
                "merged_profile_id": 57,
                "survivor_profile_id": 42,
                "reason": "identify",
                "detail": "identify linked user_id and anonymous_id",
                "message_id": "msg-8812",
                "merged_at": "2025-02-10T09:12:00Z",
                "split_at": None,
            }
        ],
    },
    response_only=True,
)


def _identifier(params: QueryDict) -> tuple[str, str, str]:
    """(kind, value, parameter to blame) from the lookup query string."""
    given = [name for name in LOOKUP_PARAMETERS if name in params]
    generic = "kind" in params or "value" in params
    if len(given) + generic != 1:
        raise BadParameter(
            "query",
            "give exactly one identifier: " + ", ".join(LOOKUP_PARAMETERS) + ", or kind and value",
        )
    if not generic:
        return given[0], parameters.text(params, given[0]), given[0]
    for name in ("kind", "value"):
        if not params.get(name, "").strip():
            raise BadParameter(name, "required with kind and value, and must not be empty")
    try:
        kind = check_kind(params["kind"].strip())
    except InvalidIdentifier as exc:
        raise BadParameter("kind", exc.reason) from None
    return kind, parameters.text(params, "value"), "value"


class ProfileLookupView(APIView):
    @extend_schema(
        operation_id="profiles_lookup",
        summary="Find a customer by an identifier",
        description="Exactly one identifier: one of the kind parameters, or `kind` and `value` "
        "(for external ids such as `crm`). The value is normalized as identity resolution does "
        "(`Ada@Example.COM` finds `ada@example.com`; phones are read as E.164, or with the "
        "workspace's default region).",
        parameters=[
            *(
                OpenApiParameter(name, TEXT, description=f"Look up by {name}.")
                for name in LOOKUP_PARAMETERS
            ),
            OpenApiParameter(
                "kind", TEXT, description="Identifier kind, e.g. `crm`; with `value`."
            ),
            OpenApiParameter("value", TEXT, description="Identifier value; with `kind`."),
        ],
        responses={
            200: ProfileSerializer,
            400: error("No identifier, more than one, or a malformed email or phone."),
            **AUTH_ERRORS,
            404: error("No profile holds this identifier in the key's workspace."),
        },
        examples=[
            PROFILE_EXAMPLE,
            OpenApiExample(
                "Malformed email",
                value={"detail": "email: not a valid email address (...)"},
                status_codes=["400"],
                response_only=True,
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        kind, value, parameter = _identifier(request.query_params)
        try:
            profile = selectors.profile_by_identifier(
                workspace=workspace_of(request), kind=kind, value=value
            )
        except InvalidIdentifier as exc:
            raise BadParameter(parameter, exc.reason) from None
        if profile is None:
            raise NotFound(f"{parameter}: no profile with this identifier in this workspace.")
        return Response(ProfileSerializer(selectors.customer_view(profile)).data)


class ProfileDetailView(APIView):
    @extend_schema(
        operation_id="profiles_retrieve",
        summary="Read a customer",
        parameters=[PROFILE_ID],
        responses={200: ProfileSerializer, **AUTH_ERRORS, **PROFILE_NOT_FOUND},
        examples=[PROFILE_EXAMPLE],
    )
    def get(self, request: Request, profile_id: int) -> Response:
        profile = profile_or_404(request, profile_id)
        return Response(ProfileSerializer(selectors.customer_view(profile)).data)


class ProfileEventsView(APIView):
    @extend_schema(
        operation_id="profiles_events",
        summary="The customer's event timeline",
        description="Events across every channel, newest first (by corrected timestamp, so "
        "late events sit where they happened). Cursor-paginated: follow `next` for older "
        "events, `previous` for newer ones; pages cost the same however deep.",
        parameters=[
            PROFILE_ID,
            *pagination.page_parameters(
                default_limit=DEFAULT_TIMELINE_LIMIT, max_limit=MAX_TIMELINE_LIMIT
            ),
            OpenApiParameter("type", str, enum=list(Event.TYPES), description="Only this type."),
            OpenApiParameter("event", str, description="Only events with this name."),
        ],
        responses={
            200: TimelinePageSerializer,
            400: error("A bad cursor, limit or type."),
            **AUTH_ERRORS,
            **PROFILE_NOT_FOUND,
        },
    )
    def get(self, request: Request, profile_id: int) -> Response:
        profile = profile_or_404(request, profile_id)
        params = request.query_params
        cursor = pagination.read_cursor(request, model=Event, order=TIMELINE_ORDER)
        limit = parameters.limit(params, default=DEFAULT_TIMELINE_LIMIT, maximum=MAX_TIMELINE_LIMIT)
        event_type = params.get("type")
        if event_type is not None and event_type not in Event.TYPES:
            raise BadParameter("type", "must be one of " + ", ".join(Event.TYPES))
        events, more = timeline(
            profile=profile,
            cursor=cursor and TimelineCursor(*cursor.position, reverse=cursor.reverse),
            limit=limit,
            event_type=event_type or "",
            event_name=parameters.text(params, "event"),
        )
        page = pagination.page_at(events, more=more, cursor=cursor, order=TIMELINE_ORDER)
        data = TimelineEventSerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))


class MergeSplitView(APIView):
    @extend_schema(
        operation_id="merges_split",
        summary="Split a merge",
        description="Restores the merged profile with the identities and events it brought; "
        "the merge stays in the history with `split_at` set.",
        parameters=[
            OpenApiParameter("merge_id", int, OpenApiParameter.PATH, description="Merge id.")
        ],
        request=None,
        responses={
            200: SplitSerializer,
            **AUTH_ERRORS,
            404: error("No such merge in the key's workspace."),
            409: error("The merge was already split."),
        },
    )
    def post(self, request: Request, merge_id: int) -> Response:
        merge = ProfileMerge.objects.filter(workspace=workspace_of(request), pk=merge_id).first()
        if merge is None:
            raise NotFound("id: no merge with this id in this workspace.")
        try:
            restored = split_merge(merge=merge, by=requested_by(request))
        except ValueError as exc:
            raise Conflict("id", str(exc)) from None
        merge.refresh_from_db()
        return Response(
            {
                "merge": MergeSerializer(merge).data,
                "profile": ProfileSerializer(selectors.customer_view(restored)).data,
            }
        )
