"""Journeys over HTTP (secret key). Views translate HTTP to service calls;
every read is scoped to the key's workspace, so another workspace's journey
or profile is a plain 404.

A definition with errors is a 400 naming each JSON path
(``definition.nodes.pause.duration``); a request the journey's current state
forbids (changing a published version, pausing a journey that is not live,
a customer entry refuses) is a 409 naming what is in the way.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import pagination, parameters
from engage.api.errors import path_errors
from engage.api.exceptions import BadParameter, Conflict
from engage.api.schema import PROFILE_ID, PROFILE_NOT_FOUND, error
from engage.api.scoping import profile_or_404, workspace_of
from engage.journeys import entry, migration, selectors, services
from engage.journeys.models import Journey, JourneyVersion

from .serializers import (
    CountsSerializer,
    EnrollInputSerializer,
    EnrollmentPageSerializer,
    EnrollmentSerializer,
    JourneyChangeSerializer,
    JourneyInputSerializer,
    JourneyPageSerializer,
    JourneySerializer,
    PublishInputSerializer,
    PublishPlanSerializer,
    VersionInputSerializer,
    VersionPageSerializer,
    VersionSerializer,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# Newest first; the id breaks ties between rows written in the same instant.
NEWEST_FIRST = ("-entered_at", "-id")
MAX_NODE_ID = 64

JOURNEY_ID = OpenApiParameter("journey_id", int, OpenApiParameter.PATH)
NUMBER = OpenApiParameter(
    "number", int, OpenApiParameter.PATH, description="The version's number (1, 2, ...)."
)
JOURNEY_NOT_FOUND = {404: error("No such journey in the key's workspace.")}
VERSION_NOT_FOUND = {404: error("No such journey in the key's workspace, or no such version.")}
# Why a customer could not enter, in words after entry's reason code.
REFUSALS = {
    entry.NOT_LIVE: "the journey is not live",
    entry.NO_PROFILE: "no such customer",
    entry.ALREADY_ACTIVE: "the customer is in this journey now",
    entry.REENTRY_NEVER: "the customer was in this journey, which lets nobody in twice",
    entry.REENTRY_TOO_SOON: "the customer was in this journey too recently to enter again",
    entry.DAILY_LIMIT: "the journey let in its most for today",
}
STATE_CONFLICT = error("The journey's status forbids it; `errors.status` says what it is.")


def _journey_or_404(request: Request, journey_id: int) -> Journey:
    journey = selectors.journey(workspace=workspace_of(request), journey_id=journey_id)
    if journey is None:
        raise NotFound("id: no journey with this id in this workspace.")
    return journey


def _version_or_404(journey: Journey, number: int) -> JourneyVersion:
    version = journey.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"number: journey {journey.pk} has no version {number}.")
    return version


def _invalid(exc: services.JourneyInvalid) -> ValidationError:
    return ValidationError(path_errors(exc.errors))


def _conflict(exc: services.JourneyConflict) -> Conflict:
    return Conflict(exc.path, exc.reason)


class Unpublishable(Conflict):
    """409 for a draft whose definition stopped being valid since it was saved:
    the request is fine, the version's state is not; ``errors`` names each path."""

    def __init__(self, errors: list[str]):
        path, _, reason = errors[0].partition(": ")
        super().__init__(path, reason)
        self.detail = "; ".join(errors)
        self.errors = path_errors(errors)


def _page(request: Request, rows, order: tuple[str, ...]) -> pagination.Page:
    return pagination.page_of(
        request, rows, order=order, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT
    )


PAGE_PARAMETERS = pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT)


class JourneyListView(APIView):
    @extend_schema(
        operation_id="journeys_list",
        responses=JourneyPageSerializer,
        summary="List journeys",
        description="By name. Cursor-paginated as every list is: follow `next` for more, "
        "`previous` to go back.",
        parameters=PAGE_PARAMETERS,
    )
    def get(self, request: Request) -> Response:
        page = _page(request, selectors.journeys(workspace=workspace_of(request)), ("name",))
        data = JourneySerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))

    @extend_schema(
        operation_id="journeys_create",
        request=JourneyInputSerializer,
        responses={201: JourneySerializer},
        summary="Create a journey",
        description="A draft journey; a `definition` given is saved as draft version 1, "
        "validated whole: a 400 names each bad JSON path (`definition.nodes.pause.duration`).",
    )
    def post(self, request: Request) -> Response:
        data = JourneyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            journey = services.create_journey(
                workspace=workspace_of(request), **data.validated_data
            )
        except services.JourneyInvalid as exc:
            raise _invalid(exc) from None
        return Response(JourneySerializer(journey).data, status=201)


class JourneyDetailView(APIView):
    @extend_schema(
        operation_id="journeys_retrieve",
        parameters=[JOURNEY_ID],
        responses={200: JourneySerializer, **JOURNEY_NOT_FOUND},
        summary="A journey",
    )
    def get(self, request: Request, journey_id: int) -> Response:
        return Response(JourneySerializer(_journey_or_404(request, journey_id)).data)

    @extend_schema(
        operation_id="journeys_partial_update",
        parameters=[JOURNEY_ID],
        request=JourneyChangeSerializer,
        responses={200: JourneySerializer, **JOURNEY_NOT_FOUND},
        summary="Rename or describe a journey",
        description="The graph changes through versions.",
    )
    def patch(self, request: Request, journey_id: int) -> Response:
        journey = _journey_or_404(request, journey_id)
        data = JourneyChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            journey = services.change_journey(journey=journey, **data.validated_data)
        except services.JourneyInvalid as exc:
            raise _invalid(exc) from None
        return Response(JourneySerializer(journey).data)

    @extend_schema(
        operation_id="journeys_destroy",
        parameters=[JOURNEY_ID],
        responses={
            204: None,
            **JOURNEY_NOT_FOUND,
            409: error("The journey is live or paused: stop it first."),
        },
        summary="Delete a draft or stopped journey",
        description="With its versions and enrollments; the customers' ledgers and "
        "messages keep the journey's id.",
    )
    def delete(self, request: Request, journey_id: int) -> Response:
        try:
            services.delete_journey(journey=_journey_or_404(request, journey_id))
        except services.JourneyConflict as exc:
            raise _conflict(exc) from None
        return Response(status=204)


class VersionListView(APIView):
    @extend_schema(
        operation_id="journeys_versions_list",
        parameters=[JOURNEY_ID, *PAGE_PARAMETERS],
        responses={200: VersionPageSerializer, **JOURNEY_NOT_FOUND},
        summary="A journey's versions",
        description="Newest first. Cursor-paginated: follow `next` for older versions.",
    )
    def get(self, request: Request, journey_id: int) -> Response:
        journey = _journey_or_404(request, journey_id)
        page = _page(request, journey.versions.all(), ("-number",))
        data = VersionSerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))

    @extend_schema(
        operation_id="journeys_versions_create",
        parameters=[JOURNEY_ID],
        request=VersionInputSerializer,
        responses={201: VersionSerializer, **JOURNEY_NOT_FOUND},
        summary="Save a new draft version",
        description="Numbered after the newest. The definition is validated whole: a 400 "
        "names each bad JSON path (`definition.nodes.pause.duration`) and nothing is saved.",
    )
    def post(self, request: Request, journey_id: int) -> Response:
        journey = _journey_or_404(request, journey_id)
        data = VersionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            version = services.save_draft(journey=journey, **data.validated_data)
        except services.JourneyInvalid as exc:
            raise _invalid(exc) from None
        return Response(VersionSerializer(version).data, status=201)


class VersionDetailView(APIView):
    @extend_schema(
        operation_id="journeys_versions_retrieve",
        parameters=[JOURNEY_ID, NUMBER],
        responses={200: VersionSerializer, **VERSION_NOT_FOUND},
        summary="A version of a journey",
    )
    def get(self, request: Request, journey_id: int, number: int) -> Response:
        version = _version_or_404(_journey_or_404(request, journey_id), number)
        return Response(VersionSerializer(version).data)

    @extend_schema(
        operation_id="journeys_versions_update",
        parameters=[JOURNEY_ID, NUMBER],
        request=VersionInputSerializer,
        responses={
            200: VersionSerializer,
            **VERSION_NOT_FOUND,
            409: error("The version is published: save a new draft instead."),
        },
        summary="Replace a draft version's definition",
        description="Validated whole, as a new draft is.",
    )
    def put(self, request: Request, journey_id: int, number: int) -> Response:
        journey = _journey_or_404(request, journey_id)
        version = _version_or_404(journey, number)
        data = VersionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            version = services.save_draft(journey=journey, version=version, **data.validated_data)
        except services.JourneyInvalid as exc:
            raise _invalid(exc) from None
        except services.JourneyConflict as exc:
            raise _conflict(exc) from None
        return Response(VersionSerializer(version).data)

    @extend_schema(
        operation_id="journeys_versions_destroy",
        parameters=[JOURNEY_ID, NUMBER],
        responses={
            204: None,
            **VERSION_NOT_FOUND,
            409: error("The version is published: it stays, as customers' ledgers name it."),
        },
        summary="Delete a draft version",
    )
    def delete(self, request: Request, journey_id: int, number: int) -> Response:
        version = _version_or_404(_journey_or_404(request, journey_id), number)
        try:
            services.delete_draft(version=version)
        except services.JourneyConflict as exc:
            raise _conflict(exc) from None
        return Response(status=204)


class PublishView(APIView):
    @extend_schema(
        operation_id="journeys_versions_publish",
        parameters=[JOURNEY_ID, NUMBER],
        request=PublishInputSerializer,
        responses={
            200: JourneySerializer,
            400: error("`migrate` is not a mapping of old to new node ids; `errors` names each."),
            **VERSION_NOT_FOUND,
            409: error(
                "The version is published already, or its definition is no longer valid (a "
                "template or segment deleted since it was saved: `errors` names each JSON "
                "path). Nothing changes."
            ),
        },
        summary="Publish a version",
        description="The version becomes immutable and the one new customers enter; "
        "customers inside stay on the version they entered, unless `migrate` moves them onto "
        "this one (see `publish/plan` to count who would move where first). A draft journey "
        "(or a stopped one) goes live; a paused one stays paused. The definition is validated "
        "again (a template may have been deleted since): a 409 changes nothing.",
    )
    def post(self, request: Request, journey_id: int, number: int) -> Response:
        version = _version_or_404(_journey_or_404(request, journey_id), number)
        migrate = _migrate_of(request)
        try:
            journey = services.publish(version=version, migrate=migrate)
        except migration.InvalidMapping as exc:
            raise ValidationError(path_errors(exc.errors)) from None
        except services.JourneyInvalid as exc:
            raise Unpublishable(exc.errors) from None
        except services.JourneyConflict as exc:
            raise _conflict(exc) from None
        return Response(JourneySerializer(journey).data)


class PublishPlanView(APIView):
    @extend_schema(
        operation_id="journeys_versions_publish_plan",
        parameters=[JOURNEY_ID, NUMBER],
        request=PublishInputSerializer,
        responses={
            200: PublishPlanSerializer,
            400: error("`migrate` is not a mapping of old to new node ids; `errors` names each."),
            **VERSION_NOT_FOUND,
            409: error("The version is published already."),
        },
        summary="Count who a publish would move",
        description="A dry run of the publish with the same body: per node of each earlier "
        "version with customers on it, how many stand there now and the node of this version "
        "they would go to (null: they would leave with `version_removed`). Nothing changes; "
        "without `migrate`, nobody moves.",
    )
    def post(self, request: Request, journey_id: int, number: int) -> Response:
        version = _version_or_404(_journey_or_404(request, journey_id), number)
        migrate = _migrate_of(request)
        try:
            moves = services.publish_plan(version=version, migrate=migrate)
        except migration.InvalidMapping as exc:
            raise ValidationError(path_errors(exc.errors)) from None
        except services.JourneyConflict as exc:
            raise _conflict(exc) from None
        return Response(PublishPlanSerializer({"moves": moves}).data)


def _migrate_of(request: Request) -> dict | None:
    data = request.data if request.data is not None else {}
    serializer = PublishInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("migrate")


def _status_view(name: str, action, summary: str, description: str) -> type[APIView]:
    """A POST that moves the journey to another status through ``action``."""

    @extend_schema(
        operation_id=f"journeys_{name}",
        parameters=[JOURNEY_ID],
        request=None,
        responses={200: JourneySerializer, **JOURNEY_NOT_FOUND, 409: STATE_CONFLICT},
        summary=summary,
        description=description,
    )
    def post(self, request: Request, journey_id: int) -> Response:
        try:
            journey = action(journey=_journey_or_404(request, journey_id))
        except services.JourneyConflict as exc:
            raise _conflict(exc) from None
        return Response(JourneySerializer(journey).data)

    return type(f"{name.title()}View", (APIView,), {"post": post})


PauseView = _status_view(
    "pause",
    services.pause,
    "Pause a live journey",
    "Nobody enters and no step runs until it is resumed; waits that end meanwhile run then.",
)
ResumeView = _status_view(
    "resume",
    services.resume,
    "Resume a paused journey",
    "The steps that came due while it was paused run at once.",
)
StopView = _status_view(
    "stop",
    services.stop,
    "Stop a journey for good",
    "Every customer inside leaves with `journey_stopped` in their ledger, and the "
    "messages they queued that are not yet handed to the provider are cancelled.",
)


class CountsView(APIView):
    @extend_schema(
        operation_id="journeys_counts",
        parameters=[
            JOURNEY_ID,
            OpenApiParameter(
                "version",
                {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                description="The version's number; the live version by default (the newest "
                "before a publish).",
            ),
        ],
        responses={200: CountsSerializer, **VERSION_NOT_FOUND},
        summary="Per node: arrived, standing there now, and left by which edge",
        description="Nodes in the order a walk from `start` meets them.",
    )
    def get(self, request: Request, journey_id: int) -> Response:
        journey = _journey_or_404(request, journey_id)
        number = None
        if "version" in request.query_params:
            number = parameters.integer(
                request.query_params, "version", default=0, low=1, high=2**31 - 1
            )
        version = selectors.version_numbered(journey, number)
        if version is None:
            raise NotFound("version: no such version of this journey.")
        nodes = selectors.node_counts(version)
        return Response(
            CountsSerializer({"version": version.number, "nodes": nodes}).data,
        )


class EnrollmentsView(APIView):
    @extend_schema(
        operation_id="journeys_enrollments_list",
        parameters=[
            JOURNEY_ID,
            OpenApiParameter(
                "status",
                {"type": "string", "enum": list(selectors.STATUSES)},
                description="`active`, `ended`, or one reason an enrollment ends.",
            ),
            OpenApiParameter(
                "node",
                {"type": "string", "maxLength": MAX_NODE_ID},
                description="Standing at this node.",
            ),
            *PAGE_PARAMETERS,
        ],
        responses={200: EnrollmentPageSerializer, **JOURNEY_NOT_FOUND},
        summary="Who is in the journey, and who was",
        description="Newest entry first. Cursor-paginated: follow `next` for older ones.",
    )
    def get(self, request: Request, journey_id: int) -> Response:
        journey = _journey_or_404(request, journey_id)
        status = parameters.text(request.query_params, "status")
        if status and status not in selectors.STATUSES:
            raise BadParameter("status", f"must be one of {', '.join(selectors.STATUSES)}")
        node_id = parameters.text(request.query_params, "node")
        if len(node_id) > MAX_NODE_ID:
            raise BadParameter("node", f"a node id has at most {MAX_NODE_ID} characters")
        rows = selectors.enrollments(journey, status=status, node_id=node_id)
        page = _page(request, rows, NEWEST_FIRST)
        data = EnrollmentSerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))

    @extend_schema(
        operation_id="journeys_enrollments_create",
        parameters=[JOURNEY_ID],
        request=EnrollInputSerializer,
        responses={
            201: EnrollmentSerializer,
            404: error("No such journey, or no such profile, in the key's workspace."),
            409: error(
                "The customer cannot enter now; `errors.profile_id` says why: not_live, "
                "already_active, reentry_never, reentry_too_soon or daily_limit."
            ),
        },
        summary="Enroll a customer by hand",
        description="The journey's entry rules apply as for a trigger; the first step runs "
        "at once.",
    )
    def post(self, request: Request, journey_id: int) -> Response:
        journey = _journey_or_404(request, journey_id)
        data = EnrollInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = profile_or_404(request, data.validated_data["profile_id"], field="profile_id")
        result = entry.enroll(journey=journey, profile_ids=[profile.pk])
        if profile.pk in result.refused:
            reason = result.refused[profile.pk]
            raise Conflict("profile_id", f"{reason}: {REFUSALS.get(reason, 'refused')}")
        [enrollment] = result.entered
        return Response(EnrollmentSerializer(enrollment).data, status=201)


class ProfileJourneysView(APIView):
    @extend_schema(
        operation_id="profiles_journeys_list",
        parameters=[PROFILE_ID, *PAGE_PARAMETERS],
        responses={200: EnrollmentPageSerializer, **PROFILE_NOT_FOUND},
        summary="The journeys a customer is in, or was in",
        description="Each enrollment with its journey, version, node and status (`active` "
        "or why it ended), newest entry first. Why each step happened is in "
        "`/api/profiles/{profile_id}/decisions`. Cursor-paginated: follow `next` for older.",
    )
    def get(self, request: Request, profile_id: int) -> Response:
        profile = profile_or_404(request, profile_id)
        page = _page(request, selectors.profile_enrollments(profile), NEWEST_FIRST)
        data = EnrollmentSerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))
