"""The refusals API code raises, each naming what is at fault (``errors``).

Apart from ``errors`` (which builds the body from them) because that module
imports DRF's views, whose settings import our parser, which raises these.
"""

from rest_framework import exceptions


class InvalidBody(exceptions.ParseError):
    """A request body refused before any view saw it; ``path`` is where in it."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.errors = {path: [reason]}


class BadParameter(exceptions.APIException):
    """400 naming the query parameter (``query`` for the query string as a whole)."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, parameter: str, reason: str):
        super().__init__(f"{parameter}: {reason}")
        self.errors = {parameter: [reason]}


class Conflict(exceptions.APIException):
    """409: the object's current state forbids the request; ``path`` names what is in the way.

    The same request can succeed against another object, so it is not malformed (400).
    """

    status_code = 409
    default_code = "conflict"

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.errors = {path: [reason]}
