"""The one exception the ingestion path raises for a request it refuses."""

import json

from django.http import HttpResponse


class IngestError(Exception):
    """A refused request; becomes a JSON 4xx (or 503) response.

    ``errors`` holds one ``{"field", "reason"}`` entry per problem (plus
    ``"index"`` inside a batch), so a client can tell exactly what to fix.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []
        self.headers = headers or {}

    @classmethod
    def field(cls, status: int, code: str, field: str, reason: str, **kwargs) -> "IngestError":
        """An error about a single field, with the message naming it."""
        return cls(
            status, code, f"{field}: {reason}", [{"field": field, "reason": reason}], **kwargs
        )

    def response(self) -> HttpResponse:
        # "message" as well as "error": Segment's libraries report ``code`` and
        # ``message`` to the application (analytics-python's on_error).
        body = {
            "error": self.message,
            "message": self.message,
            "code": self.code,
            "errors": self.errors,
        }
        response = HttpResponse(
            json.dumps(body), status=self.status, content_type="application/json"
        )
        for name, value in self.headers.items():
            response[name] = value
        return response
