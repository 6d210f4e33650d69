"""The ``/v1/*`` endpoints: plain Django views, lean because they are the hot path.

Order of work per request: method, key from the Authorization header, rate
limit, body (size, gzip, JSON), key from the body when there was no header,
validation of every event, one transaction that stores them all, then 200.
A batch with any invalid event is refused whole and nothing is stored, so a
client can fix it and resend without creating duplicates (docs/api.md).
"""

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db import DataError, InterfaceError, OperationalError, transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from engage.events import tasks

from .auth import authenticate, key_from_header
from .body import may_hold_unstorable_text, parse_json, read_body
from .errors import IngestError
from .ratelimit import check_rate
from .storage import compact_json, store_events
from .validation import Batch, parse_time, unstorable_text, validate_message

logger = logging.getLogger(__name__)

SUCCESS = b'{"success":true}'


def ingest(request, kind: str | None) -> HttpResponse:
    """Handle one ``/v1/<kind>`` request (``kind`` None: ``/v1/batch``)."""
    try:
        if request.method != "POST":
            raise IngestError.field(
                405,
                "method_not_allowed",
                "method",
                "only POST is accepted",
                headers={"Allow": "POST"},
            )
        received_at = datetime.now(UTC)
        key = None
        raw_key = key_from_header(request.META.get("HTTP_AUTHORIZATION"))
        if raw_key is not None:
            key = authenticate(raw_key, "Authorization")
            check_rate(key.workspace_id, key.rate_limit)
        limit = settings.ENGAGE_MAX_BATCH_BYTES if kind is None else settings.ENGAGE_MAX_EVENT_BYTES
        body = read_body(request, limit)
        payload = parse_json(body)
        if type(payload) is not dict:
            raise IngestError.field(400, "invalid_request", "body", "must be a JSON object")
        if key is None:
            key = authenticate(payload.get("writeKey"), "writeKey")
            check_rate(key.workspace_id, key.rate_limit)
        check_text = may_hold_unstorable_text(body)
        if kind is None:
            rows = _validate_batch(payload, len(body), received_at, check_text)
        else:
            errors = []
            row = validate_message(payload, kind, Batch(received_at), errors, None, check_text)
            if errors:
                raise _invalid(errors, "the event is invalid; nothing was stored")
            rows = [row]
        store_events(workspace_id=key.workspace_id, rows=rows)  # committed on return
        transaction.on_commit(tasks.request_processing)
    except IngestError as exc:
        return exc.response()
    except (OperationalError, InterfaceError):
        logger.warning("database unavailable during ingestion", exc_info=True)
        return IngestError(
            503,
            "unavailable",
            "the database is unavailable; nothing was stored, retry later",
            headers={"Retry-After": "1"},
        ).response()
    except DataError:
        # Validation should have caught it (a bug to fix): refuse rather than
        # answer 500, and keep the database's words in the log, not the answer.
        logger.error("the database refused validated events", exc_info=True)
        return IngestError(
            400,
            "invalid_request",
            "the database refused an event that passed validation; nothing was stored",
        ).response()
    return HttpResponse(SUCCESS, content_type="application/json")


def _validate_batch(payload: dict, body_size: int, received_at: datetime, check_text: bool):
    items = payload.get("batch")
    if type(items) is not list:
        raise IngestError.field(400, "invalid_request", "batch", "required: a JSON array of events")
    max_events = settings.ENGAGE_MAX_BATCH_EVENTS
    if len(items) > max_events:
        raise IngestError.field(
            413, "payload_too_large", "batch", f"more than {max_events} events in one request"
        )
    context = payload.get("context")
    errors: list[dict] = []
    if context is not None:
        if type(context) is not dict:
            errors.append({"field": "context", "reason": "must be a JSON object"})
            context = None
        elif check_text:
            errors.extend(
                {"field": field, "reason": reason}
                for field, reason in unstorable_text(context, "context")
            )
    # Parsed once for the whole batch; a bad one is named where it was sent.
    sent_at = parse_time(payload.get("sentAt"), "sentAt", _collect(errors))
    batch = Batch(received_at, sent_at, context)
    max_event_bytes = settings.ENGAGE_MAX_EVENT_BYTES
    # No event can exceed the per-event limit when the whole body does not.
    measure = body_size > max_event_bytes
    too_large = False
    rows = []
    for index, item in enumerate(items):
        if measure and type(item) is dict:
            size = len(compact_json(item).encode())
            if size > max_event_bytes:
                too_large = True
                errors.append(
                    {
                        "index": index,
                        "field": f"batch[{index}]",
                        "reason": f"the event is {size} bytes, more than {max_event_bytes}",
                    }
                )
                continue
        row = validate_message(item, None, batch, errors, index, check_text)
        if row is not None:
            rows.append(row)
    if errors:
        invalid = len({entry.get("index") for entry in errors})
        raise _invalid(
            errors,
            f"{invalid} invalid event(s); the whole batch was refused and nothing was stored",
            status=413 if too_large else 400,
        )
    return rows


def _collect(errors: list[dict]):
    def bad(field: str, reason: str) -> None:
        errors.append({"field": field, "reason": reason})

    return bad


def _invalid(errors: list[dict], message: str, status: int = 400) -> IngestError:
    code = "payload_too_large" if status == 413 else "invalid_request"
    fields = ", ".join(entry["field"] for entry in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return IngestError(status, code, f"{message}: {fields}{more}", errors)


def _endpoint(kind: str | None):
    @csrf_exempt
    def view(request):
        return ingest(request, kind)

    view.__name__ = f"ingest_{kind or 'batch'}"
    view.__doc__ = f"POST /v1/{kind or 'batch'} (Segment HTTP tracking API)."
    return view


identify = _endpoint("identify")
track = _endpoint("track")
page = _endpoint("page")
screen = _endpoint("screen")
group = _endpoint("group")
alias = _endpoint("alias")
batch = _endpoint(None)
