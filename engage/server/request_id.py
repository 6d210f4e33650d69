"""A request id on every response and every log record written for that request.

A client (or the proxy in front) may send ``X-Request-ID``; a sane one is
kept, so one id follows the request through every hop, anything else is
replaced by a fresh one. The id is echoed in the response, so a user who
reports an error can quote it and the operator finds the matching log record.
"""

import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
# Letters, digits and a little punctuation, as proxies generate them; nothing
# that could forge a log line or a header.
SANE = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
NO_REQUEST = "-"

current = contextvars.ContextVar("engage_request_id", default=NO_REQUEST)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        request_id = given if SANE.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` (``-`` outside a request) for the formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get()
        return True
