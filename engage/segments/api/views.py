"""Segments over HTTP (secret key). Views translate HTTP to service calls;
every read is scoped to the key's workspace, so another workspace's segment
or profile is a plain 404.

A request the segment's current state forbids (changing its kind, uploading
members to a dynamic segment, deleting one that others refer to) is a 409:
the same request can succeed against another segment, so it is not malformed.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import pagination
from engage.api.errors import path_errors
from engage.api.exceptions import Conflict
from engage.api.schema import error
from engage.api.scoping import profile_or_404, workspace_of
from engage.segments import selectors, services
from engage.segments.models import Segment
from engage.segments.summary import describe
from engage.segments.validation import InvalidSegment

from .serializers import (
    IsMemberSerializer,
    MemberSerializer,
    MembersPageSerializer,
    PreviewInputSerializer,
    PreviewSerializer,
    SegmentChangeSerializer,
    SegmentInputSerializer,
    SegmentPageSerializer,
    SegmentSerializer,
    UploadResultSerializer,
    UploadSerializer,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _invalid(exc: InvalidSegment) -> ValidationError:
    return ValidationError(path_errors(exc.errors))


def _segment_or_404(request: Request, segment_id: int) -> Segment:
    segment = selectors.segment(workspace=workspace_of(request), segment_id=segment_id)
    if segment is None:
        raise NotFound("id: no segment with this id in this workspace.")
    return segment


def _as_stored(segment: Segment) -> Segment:
    """The segment with the count its refresh stored: without a broker the
    refresh ran at commit, before the answer is written, on another copy of
    the row. With a broker it runs on a worker, and ``refreshed_at`` stays
    null until it has."""
    segment.refresh_from_db(fields=["member_count", "refreshed_at"])
    return segment


def _context(request: Request) -> dict:
    """What the serializer needs to describe rules that name other segments."""
    return {"segment_names": selectors.segment_names(workspace=workspace_of(request))}


class SegmentListView(APIView):
    @extend_schema(
        operation_id="segments_list",
        responses=SegmentPageSerializer,
        summary="List segments",
        description="By name. Cursor-paginated as every list is: follow `next` for more, "
        "`previous` to go back.",
        parameters=pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
    )
    def get(self, request: Request) -> Response:
        page = pagination.page_of(
            request,
            selectors.segments(workspace=workspace_of(request)),
            order=("name",),
            default_limit=DEFAULT_LIMIT,
            max_limit=MAX_LIMIT,
        )
        data = SegmentSerializer(page.rows, many=True, context=_context(request)).data
        return Response(pagination.paged(request, page, data))

    @extend_schema(
        operation_id="segments_create",
        request=SegmentInputSerializer,
        responses={201: SegmentSerializer},
        summary="Create a segment",
        description="A bad rule tree is answered 400 with each error naming the JSON path "
        "of the bad node (`rules.and[2].event.within_days`).",
    )
    def post(self, request: Request) -> Response:
        data = SegmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            segment = services.save_segment(workspace=workspace_of(request), **data.validated_data)
        except InvalidSegment as exc:
            raise _invalid(exc) from None
        segment = _as_stored(segment)
        return Response(SegmentSerializer(segment, context=_context(request)).data, status=201)


class SegmentDetailView(APIView):
    @extend_schema(
        operation_id="segments_retrieve", responses=SegmentSerializer, summary="A segment"
    )
    def get(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        return Response(SegmentSerializer(segment, context=_context(request)).data)

    @extend_schema(
        operation_id="segments_partial_update",
        request=SegmentChangeSerializer,
        responses={
            200: SegmentSerializer,
            409: error("`kind` differs from the segment's: a segment's kind cannot change."),
        },
        summary="Change a segment",
    )
    def patch(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        data = SegmentChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = data.validated_data
        if changes.get("kind", segment.kind) != segment.kind:
            raise Conflict("kind", "cannot be changed; create a new segment")
        fields = {
            "name": changes.get("name", segment.name),
            "description": changes.get("description", segment.description),
            "rules": changes.get("rules", segment.rules),
        }
        try:
            segment = services.save_segment(
                workspace=workspace_of(request), segment=segment, **fields
            )
        except InvalidSegment as exc:
            raise _invalid(exc) from None
        segment = _as_stored(segment)
        return Response(SegmentSerializer(segment, context=_context(request)).data)

    @extend_schema(
        operation_id="segments_destroy",
        responses={204: None, 409: error("Other segments' rules refer to this one.")},
        summary="Delete a segment",
    )
    def delete(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        try:
            services.delete_segment(segment)
        except InvalidSegment as exc:
            path, _, reason = exc.errors[0].partition(": ")
            raise Conflict(path, reason) from None
        return Response(status=204)


class SegmentMembersView(APIView):
    @extend_schema(
        operation_id="segments_members_list",
        responses=MembersPageSerializer,
        summary="Current members, by profile id",
        description="Ordered by profile id. Cursor-paginated as every list is: follow `next` "
        "for more, `previous` to go back.",
        parameters=pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
    )
    def get(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        page = pagination.page_of(
            request,
            selectors.current_members(segment=segment),
            order=("profile_id",),
            default_limit=DEFAULT_LIMIT,
            max_limit=MAX_LIMIT,
        )
        return Response(
            pagination.paged(request, page, MemberSerializer(page.rows, many=True).data)
        )

    @extend_schema(
        operation_id="segments_members_upload",
        request=UploadSerializer,
        responses={
            200: UploadResultSerializer,
            409: error("A dynamic segment: its rules decide its members."),
        },
        summary="Upload the members of a static segment",
        description="`identifiers` is a list of `{kind, value}`; they are normalized as "
        "identity resolution does. With `replace`, members not listed leave the segment.",
    )
    def post(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        if segment.kind != Segment.STATIC:
            raise Conflict("kind", "members can be uploaded to static segments only")
        data = UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = services.upload_members(segment=segment, **data.validated_data)
        except InvalidSegment as exc:
            raise _invalid(exc) from None
        return Response(UploadResultSerializer(result).data)


class SegmentMemberView(APIView):
    @extend_schema(
        operation_id="segments_member_retrieve",
        responses=IsMemberSerializer,
        summary="Is this profile a member?",
    )
    def get(self, request: Request, segment_id: int, profile_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        profile = profile_or_404(request, profile_id, field="profile_id")
        stay = selectors.current_stay(segment=segment, profile=profile)
        return Response(
            {
                "segment_id": segment.pk,
                "profile_id": profile.pk,
                "member": stay is not None,
                "entered_at": stay.entered_at if stay else None,
            }
        )


class SegmentPreviewView(APIView):
    @extend_schema(
        operation_id="segments_preview",
        request=PreviewInputSerializer,
        responses=PreviewSerializer,
        summary="Count and sample the members of rules, without saving",
    )
    def post(self, request: Request) -> Response:
        data = PreviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rules = data.validated_data["rules"]
        try:
            result = services.preview(workspace=workspace_of(request), rules=rules)
        except InvalidSegment as exc:
            raise _invalid(exc) from None
        summary = describe(rules, **_context(request))
        return Response({"count": result.count, "sample": result.sample, "summary": summary})
