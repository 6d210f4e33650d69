"""Query parameters of the API, read one way: a bad one is a 400 naming it.

PostgreSQL text cannot hold NUL: a parameter with one would fail in the
database (a 500), not match nothing, so it is refused here. A lone surrogate
cannot arrive this way: Django decodes the query string replacing what is not
UTF-8.
"""

from django.http import QueryDict

from .exceptions import BadParameter


def text(params: QueryDict, name: str, default: str = "") -> str:
    value = params.get(name, default)
    if "\x00" in value:
        raise BadParameter(name, "must not contain NUL characters")
    return value


def integer(params: QueryDict, name: str, *, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``; ``default`` when absent."""
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadParameter(name, f"must be a whole number from {low} to {high}")
    return value


def limit(params: QueryDict, *, default: int, maximum: int) -> int:
    """How many rows a page holds (``limit``)."""
    return integer(params, "limit", default=default, low=1, high=maximum)
