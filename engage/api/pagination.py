"""The one way every list under ``/api`` pages: keyset cursors.

A list answers ``{"next": <url or null>, "previous": <url or null>,
"results": [...]}`` and takes ``limit`` and ``cursor`` (an opaque token from a
``next`` or ``previous`` link). A cursor holds the sort key of the row a page
starts after, so page 1,000 costs what page 1 costs, rows added meanwhile are
neither skipped nor repeated, and no ``COUNT(*)`` is needed.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from engage import json_limits

from . import parameters
from .exceptions import BadParameter

# Sort keys are bigint ids and datetimes; a larger number would fail in PostgreSQL.
MAX_BIGINT = 2**63 - 1


@dataclass(frozen=True)
class Cursor:
    """A position in a list: the sort key of a row, and a direction.

    ``reverse`` is the page *before* the position (back towards the first page).
    """

    position: tuple
    reverse: bool = False

    def encode(self) -> str:
        values = [v.isoformat() if hasattr(v, "isoformat") else v for v in self.position]
        raw = json.dumps([values, int(self.reverse)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, *, model: type[Model], order: tuple[str, ...]) -> "Cursor":
        """Raises ValueError for a token no list ordered by ``order`` produced."""
        try:
            padded = token + "=" * (-len(token) % 4)
            # [[sort key values], reverse]: two levels, so nothing deeper is read
            values, reverse = json_limits.loads(base64.urlsafe_b64decode(padded), limit=2)
            if not isinstance(values, list) or len(values) != len(order):
                raise ValueError("wrong length")
            position = tuple(
                _sort_value(model, name.lstrip("-"), value)
                for name, value in zip(order, values, strict=True)
            )
            return cls(position, bool(reverse))
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, ValidationError):
            raise ValueError("not a cursor returned by this endpoint") from None


def _sort_value(model: type[Model], name: str, value):
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(name)
    if isinstance(value, int) and not -MAX_BIGINT <= value <= MAX_BIGINT:
        raise ValueError(name)
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(name)  # PostgreSQL text cannot hold NUL
    if isinstance(value, str):
        value.encode()  # nor a lone surrogate: UnicodeEncodeError is a ValueError
    return model._meta.get_field(name).to_python(value)


@dataclass(frozen=True)
class Page:
    rows: list
    next: Cursor | None
    previous: Cursor | None


def keyset_page(queryset: QuerySet, *, order: tuple[str, ...], cursor: Cursor | None, limit: int):
    """One page of ``queryset`` sorted by ``order`` (a unique key, ``-`` for descending)."""
    backwards = cursor is not None and cursor.reverse
    sort = [_flip(name) for name in order] if backwards else list(order)
    rows = queryset
    if cursor is not None:
        rows = rows.filter(_beyond(sort, cursor.position))
    rows = list(rows.order_by(*sort)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    return page_at(rows, more=more, cursor=cursor, order=order)


def page_at(rows: list, *, more: bool, cursor: Cursor | None, order: tuple[str, ...]) -> Page:
    """The links around ``rows``, read at ``cursor``; ``more``: rows follow in the
    direction read. For a list whose rows a selector reads (the timeline).

    Forward pages link on when more rows follow, and back once we have moved;
    pages read backwards the other way round.
    """
    if not rows:
        return Page(rows, None, None)

    def key(row) -> tuple:
        return tuple(getattr(row, name.lstrip("-")) for name in order)

    backwards = cursor is not None and cursor.reverse
    following = Cursor(key(rows[-1])) if more or backwards else None
    preceding = None
    if (more and backwards) or (cursor is not None and not backwards):
        preceding = Cursor(key(rows[0]), reverse=True)
    return Page(rows, following, preceding)


def _flip(name: str) -> str:
    return name[1:] if name.startswith("-") else f"-{name}"


def _beyond(sort: list[str], position: tuple) -> Q:
    """Rows after ``position`` in ``sort`` order: (a, b) > (x, y) spelled for any index."""
    branches, equal = [], Q()
    for name, value in zip(sort, position, strict=True):
        field = name.lstrip("-")
        branches.append(equal & Q(**{f"{field}__{'lt' if name.startswith('-') else 'gt'}": value}))
        equal &= Q(**{field: value})
    return reduce(or_, branches)


def read_cursor(request: Request, *, model: type[Model], order: tuple[str, ...]) -> Cursor | None:
    token = parameters.text(request.query_params, "cursor")
    if not token:
        return None
    try:
        return Cursor.decode(token, model=model, order=order)
    except ValueError:
        raise BadParameter("cursor", "not a cursor returned by this endpoint") from None


def link(request: Request, cursor: Cursor | None) -> str | None:
    """This URL with the same parameters, at ``cursor``; None for no page."""
    if cursor is None:
        return None
    params = request.query_params.copy()
    params["cursor"] = cursor.encode()
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


def paged(request: Request, page: Page, results) -> dict:
    """The list body: links to the pages either side, and this page's ``results``."""
    return {
        "next": link(request, page.next),
        "previous": link(request, page.previous),
        "results": results,
    }


def page_of(
    request: Request,
    queryset: QuerySet,
    *,
    order: tuple[str, ...],
    default_limit: int,
    max_limit: int,
) -> Page:
    """The page of ``queryset`` the request's ``cursor`` and ``limit`` ask for."""
    cursor = read_cursor(request, model=queryset.model, order=order)
    limit = parameters.limit(request.query_params, default=default_limit, maximum=max_limit)
    return keyset_page(queryset, order=order, cursor=cursor, limit=limit)


def page_parameters(*, default_limit: int, max_limit: int) -> list[OpenApiParameter]:
    """``cursor`` and ``limit`` as the schema states them."""
    return [
        OpenApiParameter("cursor", str, description="From a `next` or `previous` link."),
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_limit},
            description=f"Rows per page (default {default_limit}).",
        ),
    ]


def page_serializer(name: str, item: type[serializers.Serializer]) -> type:
    """The schema of a list body holding ``item`` rows, as component ``name``."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "previous": serializers.URLField(
                allow_null=True, help_text="The page before, or null on the first page."
            ),
            "results": item(many=True),
        },
    )
