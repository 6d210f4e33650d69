"""Segments over HTTP (secret key). Views translate HTTP to service calls;
every read is scoped to the key's workspace, so another workspace's segment
or profile is a plain 404."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.profiles.api.views import profile_or_404
from engage.segments import services
from engage.segments.models import Segment, SegmentMembership
from engage.segments.summary import describe
from engage.segments.validation import InvalidSegment

from .serializers import (
    IsMemberSerializer,
    MemberSerializer,
    MembersPageSerializer,
    PreviewInputSerializer,
    PreviewSerializer,
    SegmentInputSerializer,
    SegmentSerializer,
    UploadResultSerializer,
    UploadSerializer,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class Invalid(APIException):
    """400 listing each problem as ``path: reason``."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, errors: list[str]):
        # The same body as every other 400 of this API.
        super().__init__({"detail": "; ".join(errors), "errors": errors})


def _invalid_response(errors: list[str]) -> Response:
    return Response({"detail": "; ".join(errors), "errors": errors}, status=400)


def _envelope_errors(serializer) -> list[str]:
    return [f"{name}: {' '.join(str(m) for m in msgs)}" for name, msgs in serializer.errors.items()]


def _segment_or_404(request: Request, segment_id: int) -> Segment:
    segment = Segment.objects.filter(workspace=request.user.workspace, pk=segment_id).first()
    if segment is None:
        raise NotFound("id: no segment with this id in this workspace.")
    return segment


def _names(workspace) -> dict[int, str]:
    return dict(Segment.objects.filter(workspace=workspace).values_list("id", "name"))


def _int_param(request: Request, name: str, default: int | None, low: int, high: int | None):
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bound = f" to {high}" if high is not None else " or more"
        raise Invalid([f"{name}: must be an integer from {low}{bound}"])
    return value


class SegmentListView(APIView):
    @extend_schema(
        operation_id="segments_list",
        responses=SegmentSerializer(many=True),
        summary="List segments",
    )
    def get(self, request: Request) -> Response:
        workspace = request.user.workspace
        segments = Segment.objects.filter(workspace=workspace).order_by("name")
        context = {"segment_names": _names(workspace)}
        return Response(SegmentSerializer(segments, many=True, context=context).data)

    @extend_schema(
        operation_id="segments_create",
        request=SegmentInputSerializer,
        responses={201: SegmentSerializer},
        summary="Create a segment",
        description="A bad rule tree is answered 400 with each error naming the JSON path "
        "of the bad node (`rules.and[2].event.within_days: ...`).",
    )
    def post(self, request: Request) -> Response:
        data = SegmentInputSerializer(data=request.data)
        if not data.is_valid():
            return _invalid_response(_envelope_errors(data))
        try:
            segment = services.save_segment(workspace=request.user.workspace, **data.validated_data)
        except InvalidSegment as exc:
            return _invalid_response(exc.errors)
        context = {"segment_names": _names(request.user.workspace)}
        return Response(SegmentSerializer(segment, context=context).data, status=201)


class SegmentDetailView(APIView):
    @extend_schema(
        operation_id="segments_retrieve", responses=SegmentSerializer, summary="A segment"
    )
    def get(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        context = {"segment_names": _names(request.user.workspace)}
        return Response(SegmentSerializer(segment, context=context).data)

    @extend_schema(
        operation_id="segments_partial_update",
        request=SegmentInputSerializer,
        responses=SegmentSerializer,
        summary="Change a segment",
    )
    def patch(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        current = {
            "name": segment.name,
            "description": segment.description,
            "kind": segment.kind,
            "rules": segment.rules,
        }
        data = SegmentInputSerializer(data={**current, **request.data})
        if not data.is_valid():
            return _invalid_response(_envelope_errors(data))
        if data.validated_data["kind"] != segment.kind:
            return _invalid_response(["kind: cannot be changed; create a new segment"])
        try:
            segment = services.save_segment(
                workspace=request.user.workspace, segment=segment, **data.validated_data
            )
        except InvalidSegment as exc:
            return _invalid_response(exc.errors)
        context = {"segment_names": _names(request.user.workspace)}
        return Response(SegmentSerializer(segment, context=context).data)

    @extend_schema(
        operation_id="segments_destroy", responses={204: None}, summary="Delete a segment"
    )
    def delete(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        try:
            services.delete_segment(segment)
        except InvalidSegment as exc:
            return _invalid_response(exc.errors)
        return Response(status=204)


class SegmentMembersView(APIView):
    @extend_schema(
        operation_id="segments_members_list",
        responses=MembersPageSerializer,
        summary="Current members, by profile id",
        parameters=[
            OpenApiParameter("after", int, description="`next_after` of the previous page."),
            OpenApiParameter("limit", int, description=f"1 to {MAX_LIMIT}, {DEFAULT_LIMIT}."),
        ],
    )
    def get(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        after = _int_param(request, "after", 0, 0, None)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        rows = list(
            SegmentMembership.objects.filter(
                segment=segment, exited_at__isnull=True, profile_id__gt=after
            ).order_by("profile_id")[: limit + 1]
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return Response(
            {
                "results": MemberSerializer(rows, many=True).data,
                "next_after": rows[-1].profile_id if more else None,
            }
        )

    @extend_schema(
        operation_id="segments_members_upload",
        request=UploadSerializer,
        responses=UploadResultSerializer,
        summary="Upload the members of a static segment",
        description="`identifiers` is a list of `{kind, value}`; they are normalized as "
        "identity resolution does. With `replace`, members not listed leave the segment.",
    )
    def post(self, request: Request, segment_id: int) -> Response:
        segment = _segment_or_404(request, segment_id)
        data = UploadSerializer(data=request.data)
        if not data.is_valid():
            return _invalid_response(_envelope_errors(data))
        try:
            result = services.upload_members(segment=segment, **data.validated_data)
        except InvalidSegment as exc:
            return _invalid_response(exc.errors)
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
        stay = SegmentMembership.objects.filter(
            segment=segment, profile=profile, exited_at__isnull=True
        ).first()
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
        if not data.is_valid():
            return _invalid_response(_envelope_errors(data))
        rules = data.validated_data["rules"]
        workspace = request.user.workspace
        try:
            result = services.preview(workspace=workspace, rules=rules)
        except InvalidSegment as exc:
            return _invalid_response(exc.errors)
        summary = describe(rules, segment_names=_names(workspace))
        return Response({"count": result.count, "sample": result.sample, "summary": summary})
