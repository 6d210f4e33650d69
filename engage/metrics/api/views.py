"""Metrics over HTTP (secret key): ``GET /api/metrics/<name>?start=&end=&...``.

One view per metric, built from its ``Metric`` entry: the parameters it
takes (each checked, a bad one a 400 naming it), the selector it calls with
the key's workspace, and its definition (the selector module's docstring)
as the operation's description. The answer is JSON, or CSV with ``?format=csv``
or ``Accept: text/csv``: the ``rows``, formula-escaped, or with ``?part=`` another
list (``nodes``) or ``summary``, the headline figures as one row. A parameter
the metric does not take is a 400 naming it, so a typo never answers defaults.
"""

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from typing import Any, get_type_hints

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import parameters
from engage.api.exceptions import BadParameter
from engage.api.scoping import workspace_of

from ..csv_export import to_csv

DEFAULT_DAYS = 30
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_TEXT = 200
FORMATS = ("json", "csv")
SUMMARY = "summary"


@dataclass(frozen=True)
class Option:
    """A query parameter of a metric: ``kind`` is ``choice``, ``integer``,
    ``number`` or ``text``; ``low``/``high`` bound numbers."""

    name: str
    kind: str
    description: str
    default: Any = None
    choices: tuple[str, ...] = ()
    low: float = 0
    high: float = 0

    def schema(self) -> dict:
        if self.kind == "choice":
            return {"type": "string", "enum": list(self.choices), "default": self.default}
        if self.kind in ("integer", "number"):
            schema = {"type": self.kind, "minimum": self.low, "maximum": self.high}
            if self.default is not None:
                schema["default"] = self.default
            return schema
        return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}

    def read(self, params) -> Any:
        if self.name not in params:
            return self.default
        if self.kind == "integer":
            return parameters.integer(
                params, self.name, default=self.default, low=int(self.low), high=int(self.high)
            )
        raw = parameters.text(params, self.name)
        if self.kind == "choice":
            if raw not in self.choices:
                raise BadParameter(self.name, f"must be one of {', '.join(self.choices)}")
            return raw
        if self.kind == "number":
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if not self.low <= value <= self.high:
                raise BadParameter(
                    self.name, f"must be a number from {self.low:g} to {self.high:g}"
                )
            return value
        if not 1 <= len(raw) <= MAX_TEXT:
            raise BadParameter(self.name, f"must be 1 to {MAX_TEXT} characters")
        return raw


def _date(params, name: str, default: date) -> date:
    """``YYYY-MM-DD`` only: Python also reads ``20250101`` and week dates,
    which the schema's ``format: date`` does not allow."""
    if name not in params:
        return default
    raw = parameters.text(params, name)
    try:
        if not DATE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, "must be a date, YYYY-MM-DD") from None


def _days_before(day: date, days: int) -> date:
    try:
        return day - timedelta(days=days)
    except OverflowError:
        return date.min


RANGE = [
    OpenApiParameter(
        "start",
        OpenApiTypes.DATE,
        description=f"First day (UTC) of the range, included; {DEFAULT_DAYS} days before `end` "
        "by default. After `end`: an empty range.",
    ),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, included; today by default."),
    OpenApiParameter(
        "format",
        {"type": "string", "enum": list(FORMATS), "default": "json"},
        description="`csv` for the rows as CSV (as does `Accept: text/csv`).",
    ),
]
ROWS = {
    "type": "object",
    "properties": {
        "metric": {"type": "string"},
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date"},
        "rows": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
    },
    "required": ["metric", "start", "end", "rows"],
    "additionalProperties": True,
}


class JSONUnlessCSV(BaseContentNegotiation):
    """JSON always: CSV is answered by the view itself, so neither
    ``?format=`` nor ``Accept`` reaches DRF's negotiation (which would
    answer an unknown format with a 404 rather than a 400 naming it)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def check_known(params, known: set[str]) -> None:
    for name in sorted(set(params) - known):
        raise BadParameter(name, f"is not a parameter of this metric: {', '.join(sorted(known))}")


def csv_parts(selector: Callable) -> tuple[str, ...]:
    """The lists of the selector's result (``rows`` first), then ``summary``."""
    result = get_type_hints(selector)["return"]
    lists = [f.name for f in fields(result) if f.default_factory is list]
    return (*sorted(lists, key=lambda name: name != "rows"), SUMMARY)


def csv_rows(body: dict, part: str) -> list[dict]:
    if part != SUMMARY:
        return body[part]
    summary: dict = {}
    for name, value in body.items():
        if isinstance(value, dict):
            summary.update({f"{name}_{key}": item for key, item in value.items()})
        elif not isinstance(value, list):
            summary[name] = value
    return [summary]


def wants_csv(request: Request) -> bool:
    chosen = request.query_params.get("format")
    if chosen is not None:
        chosen = parameters.text(request.query_params, "format")
        if chosen not in FORMATS:
            raise BadParameter("format", f"must be one of {', '.join(FORMATS)}")
        return chosen == "csv"
    accept = request.headers.get("Accept", "")
    return "text/csv" in accept and "application/json" not in accept


def metric_view(
    name: str, selector: Callable, options: list[Option], *, summary: str, module
) -> type[APIView]:
    """The view of metric ``name``: reads the range and ``options``, calls ``selector``."""
    parts = csv_parts(selector)
    part_option = Option(
        "part",
        "choice",
        "With CSV: which part of the answer to write; `summary` is the headline figures "
        "as one row. JSON holds every part.",
        default=parts[0],
        choices=parts,
    )
    known = {"start", "end", "format", part_option.name, *(option.name for option in options)}

    class MetricView(APIView):
        renderer_classes = [JSONRenderer]
        content_negotiation_class = JSONUnlessCSV

        @extend_schema(
            operation_id=f"metrics_{name}",
            summary=summary,
            description=module.__doc__,
            parameters=[
                *RANGE,
                *(
                    OpenApiParameter(option.name, option.schema(), description=option.description)
                    for option in [*options, part_option]
                ),
            ],
            responses={
                (200, "application/json"): OpenApiResponse(ROWS),
                (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            },
        )
        def get(self, request: Request) -> Response | HttpResponse:
            params = request.query_params
            check_known(params, known)
            csv = wants_csv(request)
            part = part_option.read(params)
            end = _date(params, "end", timezone.now().date())
            start = _date(params, "start", _days_before(end, DEFAULT_DAYS - 1))
            kwargs = {option.name: option.read(params) for option in options}
            result = selector(workspace_of(request), start=start, end=end, **kwargs)
            body = {"metric": name, "start": start.isoformat(), "end": end.isoformat()}
            body.update(asdict(result))
            if csv:
                response = HttpResponse(
                    to_csv(csv_rows(body, part)), content_type="text/csv; charset=utf-8"
                )
                filename = name if part == parts[0] else f"{name}-{part}"
                response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
                return response
            return Response(body)

    MetricView.__name__ = MetricView.__qualname__ = f"{name.title()}MetricView"
    return MetricView
