"""The JSON parser of every DRF endpoint.

DRF's own parser hands the body to ``json.load``: a document nested a few
thousand levels deep raises ``RecursionError`` (a 500), and strings PostgreSQL
cannot store (NUL, lone surrogates) travel on until the insert fails (another
500). Both are refused here, with a 400 naming where in the body, before any
view runs.
"""

from django.conf import settings
from rest_framework.parsers import JSONParser as DRFJSONParser

from engage import json_limits
from engage.events.ingestion.body import may_hold_unstorable_text
from engage.events.ingestion.validation import unstorable_text

from .exceptions import InvalidBody


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise InvalidBody("body", f"not valid {encoding}") from None
        try:
            data = json_limits.loads(text, parse_constant=_refuse_constant)
        except json_limits.TooDeep as exc:
            raise InvalidBody("body", f"JSON {exc}") from None
        except ValueError as exc:
            raise InvalidBody("body", f"not valid JSON ({exc})") from None
        if may_hold_unstorable_text(raw):
            for path, reason in unstorable_text(data):
                raise InvalidBody(path or "body", reason)
        return data
