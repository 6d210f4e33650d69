"""The feedback API (secret key): record answers collected elsewhere, and
read the reports. Scoped to the key's workspace."""

import uuid
from datetime import UTC, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import parameters
from engage.api.customers import customer_of
from engage.api.exceptions import BadParameter
from engage.api.schema import error
from engage.api.scoping import workspace_of
from engage.feedback import scales, selectors, services
from engage.feedback.models import Feedback, Survey

from .serializers import AnswerSerializer, FeedbackSerializer, ReportSerializer

# An answer given in the future is a client's clock or date bug.
CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_RANGE = timedelta(days=90)
# Longest report range: a day per row over it stays a small answer.
MAX_RANGE = timedelta(days=3 * 366)


class FeedbackView(APIView):
    @extend_schema(
        request=AnswerSerializer,
        responses={
            201: FeedbackSerializer,
            200: FeedbackSerializer,
            404: error("No such customer in the key's workspace."),
        },
        summary="Record a survey answer collected elsewhere",
        description="Stores the answer, writes its event (`NPS Submitted`, `CSAT Submitted`, "
        "`Effort Submitted`) on the customer's timeline and acts on it as the workspace's "
        "feedback settings say (a detractor's marketing pause, journeys, staff notice). "
        "The same idempotency_key returns the stored answer (200) instead of a second one.",
    )
    def post(self, request):
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = workspace_of(request)
        survey = None
        if "survey" in data:
            survey = Survey.objects.filter(workspace=workspace, name=data["survey"]).first()
            if survey is None:
                raise ValidationError({"survey": [f"no survey named {data['survey']!r}"]})
            if survey.kind != data["kind"]:
                raise ValidationError(
                    {"kind": [f"survey {survey.name!r} asks {survey.kind}, not {data['kind']}"]}
                )
        answered_at = data["answered_at"]
        if answered_at is not None and answered_at > timezone.now() + CLOCK_SKEW:
            raise ValidationError({"answered_at": ["must not be in the future"]})
        profile = customer_of(workspace, data)
        key = data["idempotency_key"] or str(uuid.uuid4())
        row, new = services.record_answer(
            services.Answer(
                profile=profile,
                kind=data["kind"],
                score=data["score"],
                comment=data["comment"],
                channel=data["channel"],
                key=f"api:{key}",
                source=Feedback.API,
                survey=survey,
                answered_at=answered_at,
            )
        )
        return Response(
            FeedbackSerializer(row).data,
            status=status.HTTP_201_CREATED if new else status.HTTP_200_OK,
        )


def _moment(params, name: str, default):
    raw = parameters.text(params, name)
    if not raw:
        return default
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise BadParameter(name, "must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ReportView(APIView):
    @extend_schema(
        operation_id="feedback_report",
        parameters=[
            OpenApiParameter(
                "kind",
                {"type": "string", "enum": list(scales.SCALES)},
                required=True,
                description="nps, csat or effort (the survey's Customer Effort Score).",
            ),
            OpenApiParameter(
                "since",
                {"type": "string", "format": "date-time"},
                description="Answers from this time on; 90 days before `until` by default.",
            ),
            OpenApiParameter(
                "until",
                {"type": "string", "format": "date-time"},
                description="Answers before this time; now by default.",
            ),
            OpenApiParameter(
                "interval",
                {"type": "string", "enum": list(selectors.INTERVALS)},
                description="The periods of `over_time`; week (from Monday) by default.",
            ),
        ],
        responses={200: ReportSerializer},
        summary="NPS, CSAT or effort over time, by channel and by journey",
        description="Answers, average score and (NPS) promoters, passives, detractors and "
        "the NPS (promoters % minus detractors %) over the range, per period, per channel "
        "and per journey, with response rates (answers to survey messages sent in the "
        "range ÷ those messages). At most three years at a time.",
    )
    def get(self, request):
        params = request.query_params
        kind = parameters.text(params, "kind")
        if kind not in scales.SCALES:
            raise BadParameter("kind", f"must be one of {', '.join(scales.SCALES)}")
        interval = parameters.text(params, "interval", "week")
        if interval not in selectors.INTERVALS:
            raise BadParameter("interval", f"must be one of {', '.join(selectors.INTERVALS)}")
        until = _moment(params, "until", timezone.now())
        try:
            default_since = until - DEFAULT_RANGE
        except OverflowError:
            raise BadParameter("until", "is too early a date") from None
        since = _moment(params, "since", default_since)
        if since >= until:
            raise BadParameter("since", "must be before until")
        if until - since > MAX_RANGE:
            raise BadParameter("since", "the range may span at most three years")
        workspace_id = workspace_of(request).pk
        figures = {"workspace_id": workspace_id, "kind": kind, "since": since, "until": until}
        report = {
            "kind": kind,
            "since": since,
            "until": until,
            "interval": interval,
            "summary": selectors.summary(**figures),
            "over_time": selectors.over_time(**figures, interval=interval),
            "by_channel": selectors.breakdown(**figures, by="channel"),
            "by_journey": selectors.breakdown(**figures, by="journey"),
        }
        return Response(ReportSerializer(report).data)
