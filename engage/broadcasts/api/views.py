"""Broadcasts over HTTP (secret key). Views translate HTTP to service calls;
every read is scoped to the key's workspace, so another workspace's
broadcast is a plain 404.

Input the services refuse is a 400 naming the field (``send_at: must be in
the future``); a request the broadcast's status forbids, or a schedule whose
segment, journey or time stopped being valid since it was saved, is a 409
naming what is in the way.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import pagination
from engage.api.errors import path_errors
from engage.api.exceptions import Conflict
from engage.api.schema import error
from engage.api.scoping import workspace_of
from engage.broadcasts import selectors, services
from engage.broadcasts.models import Broadcast

from .serializers import (
    BroadcastChangeSerializer,
    BroadcastDetailSerializer,
    BroadcastInputSerializer,
    BroadcastPageSerializer,
    BroadcastSerializer,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
NEWEST_FIRST = ("-id",)
BROADCAST_ID = OpenApiParameter("broadcast_id", int, OpenApiParameter.PATH)
NOT_FOUND = {404: error("No such broadcast in the key's workspace.")}
STATE_CONFLICT = error("The broadcast's status forbids it; `errors.status` says what it is.")
PAGE_PARAMETERS = pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT)


def _broadcast_or_404(request: Request, broadcast_id: int) -> Broadcast:
    broadcast = selectors.broadcast(workspace=workspace_of(request), broadcast_id=broadcast_id)
    if broadcast is None:
        raise NotFound("id: no broadcast with this id in this workspace.")
    return broadcast


def _detail(broadcast: Broadcast) -> dict:
    broadcast.messages = selectors.message_counts(broadcast)
    return BroadcastDetailSerializer(broadcast).data


class ScheduleRefused(Conflict):
    """409 for a broadcast that cannot be scheduled as it stands (its time
    passed, its journey is no longer live): ``errors`` names each field."""

    def __init__(self, errors: list[str]):
        path, _, reason = errors[0].partition(": ")
        super().__init__(path, reason)
        self.detail = "; ".join(errors)
        self.errors = path_errors(errors)


class BroadcastListView(APIView):
    @extend_schema(
        operation_id="broadcasts_list",
        responses=BroadcastPageSerializer,
        summary="List broadcasts",
        description="Newest first. Cursor-paginated: follow `next` for more.",
        parameters=PAGE_PARAMETERS,
    )
    def get(self, request: Request) -> Response:
        page = pagination.page_of(
            request,
            selectors.broadcasts(workspace=workspace_of(request)),
            order=NEWEST_FIRST,
            default_limit=DEFAULT_LIMIT,
            max_limit=MAX_LIMIT,
        )
        data = BroadcastSerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))

    @extend_schema(
        operation_id="broadcasts_create",
        request=BroadcastInputSerializer,
        responses={201: BroadcastDetailSerializer},
        summary="Create a broadcast",
        description="A draft: nothing runs until it is scheduled. A 400 names each bad "
        "field (an unknown segment, a journey that is not live, a one-off time not in the "
        "future, a `local_time` that is not HH:MM).",
    )
    def post(self, request: Request) -> Response:
        data = BroadcastInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            broadcast = services.create_broadcast(
                workspace=workspace_of(request), **data.validated_data
            )
        except services.BroadcastInvalid as exc:
            raise ValidationError(path_errors(exc.errors)) from None
        return Response(_detail(broadcast), status=201)


class BroadcastDetailView(APIView):
    @extend_schema(
        operation_id="broadcasts_retrieve",
        parameters=[BROADCAST_ID],
        responses={200: BroadcastDetailSerializer, **NOT_FOUND},
        summary="A broadcast, with its progress",
    )
    def get(self, request: Request, broadcast_id: int) -> Response:
        return Response(_detail(_broadcast_or_404(request, broadcast_id)))

    @extend_schema(
        operation_id="broadcasts_partial_update",
        parameters=[BROADCAST_ID],
        request=BroadcastChangeSerializer,
        responses={200: BroadcastDetailSerializer, **NOT_FOUND, 409: STATE_CONFLICT},
        summary="Change a draft or scheduled broadcast",
        description="Checked whole as on create; a scheduled one is planned again.",
    )
    def patch(self, request: Request, broadcast_id: int) -> Response:
        broadcast = _broadcast_or_404(request, broadcast_id)
        data = BroadcastChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            broadcast = services.change_broadcast(broadcast=broadcast, **data.validated_data)
        except services.BroadcastInvalid as exc:
            raise ValidationError(path_errors(exc.errors)) from None
        except services.BroadcastConflict as exc:
            raise Conflict(exc.path, exc.reason) from None
        return Response(_detail(broadcast))

    @extend_schema(
        operation_id="broadcasts_destroy",
        parameters=[BROADCAST_ID],
        responses={
            204: None,
            **NOT_FOUND,
            409: error("The broadcast may still run: cancel it first."),
        },
        summary="Delete a draft, or a broadcast that is over",
        description="Its messages stay.",
    )
    def delete(self, request: Request, broadcast_id: int) -> Response:
        try:
            services.delete_broadcast(broadcast=_broadcast_or_404(request, broadcast_id))
        except services.BroadcastConflict as exc:
            raise Conflict(exc.path, exc.reason) from None
        return Response(status=204)


def _action(operation_id: str, summary: str, description: str, conflict: str):
    return extend_schema(
        operation_id=operation_id,
        parameters=[BROADCAST_ID],
        request=None,
        responses={200: BroadcastDetailSerializer, **NOT_FOUND, 409: error(conflict)},
        summary=summary,
        description=description,
    )


class ScheduleView(APIView):
    @_action(
        "broadcasts_schedule",
        "Schedule a draft broadcast",
        "Plans its first run: at `send_at`, or the first daily run not yet begun.",
        "The broadcast is not a draft, or no longer valid as saved (its time passed, its "
        "journey is not live): `errors` names each field. Nothing changes.",
    )
    def post(self, request: Request, broadcast_id: int) -> Response:
        broadcast = _broadcast_or_404(request, broadcast_id)
        try:
            broadcast = services.schedule_broadcast(broadcast=broadcast)
        except services.BroadcastInvalid as exc:
            raise ScheduleRefused(exc.errors) from None
        except services.BroadcastConflict as exc:
            raise Conflict(exc.path, exc.reason) from None
        return Response(_detail(broadcast))


class PauseView(APIView):
    @_action(
        "broadcasts_pause",
        "Pause a broadcast",
        "No more slices are handed out; messages already queued are still sent.",
        "The broadcast is not scheduled or running.",
    )
    def post(self, request: Request, broadcast_id: int) -> Response:
        return _move(request, broadcast_id, services.pause_broadcast)


class ResumeView(APIView):
    @_action(
        "broadcasts_resume",
        "Resume a paused broadcast",
        "From where it stopped in its audience.",
        "The broadcast is not paused.",
    )
    def post(self, request: Request, broadcast_id: int) -> Response:
        return _move(request, broadcast_id, services.resume_broadcast)


class CancelView(APIView):
    @_action(
        "broadcasts_cancel",
        "Cancel a broadcast",
        "For good: no more slices, and its messages not yet handed to a provider are "
        "cancelled. Cancelling a cancelled broadcast answers it unchanged.",
        "The broadcast is completed or failed.",
    )
    def post(self, request: Request, broadcast_id: int) -> Response:
        return _move(request, broadcast_id, services.cancel_broadcast)


def _move(request: Request, broadcast_id: int, change) -> Response:
    broadcast = _broadcast_or_404(request, broadcast_id)
    try:
        broadcast = change(broadcast=broadcast)
    except services.BroadcastConflict as exc:
        raise Conflict(exc.path, exc.reason) from None
    return Response(_detail(broadcast))
