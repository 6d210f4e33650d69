"""Answers while the database cannot be reached: a 503 with ``Retry-After``, not a 500 page.

``/v1`` already answers its own JSON 503 (``engage.events.ingestion``); this
gives the rest of the server the same promise. The management API and the
inbox answer JSON in their error body, the admin and the public pages a short
HTML page. Only an unreachable database is an outage: a refused connection,
a connection lost mid-request, a server shutting down. Every other database
error is a bug and stays a logged 500.
"""

import logging
import threading
import time

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
# An outage fails every request: report it once per interval, not per request.
LOG_INTERVAL_SECONDS = 10.0
JSON_PREFIXES = ("/api/", "/inbox/")
# SQLSTATE class 08 (connection exception) and the shutdown codes of 57P:
# admin shutdown, crash shutdown, cannot connect now (starting up).
CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>Temporarily unavailable</h1>
<p>engage cannot reach its database right now. Nothing was changed.
Please try again in a moment.</p>
</body></html>
"""


def cannot_connect(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (rather than refused a query)."""
    if isinstance(exc, InterfaceError):
        return True  # the connection is closed or broken
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if not isinstance(cause, psycopg.OperationalError):
        return False  # SQLite's OperationalError is a missing table or a locked file: a bug
    # psycopg gives no SQLSTATE when it could not connect or the server went away.
    return cause.sqlstate is None or cause.sqlstate.startswith(CONNECTION_STATES)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not cannot_connect(exception):
            return None  # Django's 500, logged with its traceback
        _report(exception)
        if request.path.startswith(JSON_PREFIXES):
            response = JsonResponse(
                {
                    "detail": "the database is unavailable; nothing was changed, retry later",
                    "errors": {},
                },
                status=503,
            )
        else:
            response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


_lock = threading.Lock()
_last_report = float("-inf")
_unreported = 0


def _report(exception: BaseException) -> None:
    global _last_report, _unreported
    with _lock:
        now = time.monotonic()
        if now - _last_report < LOG_INTERVAL_SECONDS:
            _unreported += 1
            return
        _last_report, skipped, _unreported = now, _unreported, 0
    logger.warning(
        "database unavailable, answering 503 (%d more since the last report): %s",
        skipped,
        exception,
    )
