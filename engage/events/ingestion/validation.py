"""Segment-spec messages in, rows to store out, with every problem named.

Hand-written on purpose: this runs once per ingested event, and DRF
serializers cost 9-16x as much (docs/performance.md). Problems are collected,
not raised, so that a rejected batch lists every bad event and field at once.

Rules (docs/api.md is the reference for clients):

- ``userId`` or ``anonymousId`` is required; ids may be strings or numbers and
  are stored as strings.
- ``messageId`` is generated when absent; it is the deduplication key.
- Clock skew: with both ``sentAt`` and ``timestamp``, the stored timestamp is
  ``receivedAt - (sentAt - timestamp)``; without ``timestamp`` it is
  ``receivedAt``. A result still more than a day ahead of ``receivedAt`` is
  clamped to ``receivedAt`` and flagged ``timestamp_in_future``. Old
  timestamps are kept, so late events land in their place in the timeline.
- Every stored time lies in ``[EARLIEST_TIME, LATEST_TIME)``. Python's
  ``datetime`` reads years 1-9999 only, and PostgreSQL stores a wider range:
  a year-1 time with a positive offset is stored as year 0 (BC), and no event
  row holding one could be loaded again, which stopped processing for every
  workspace. The range is far inside both and far outside any real event.
- Every id fits its column after numbers are turned into strings.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

TYPES = frozenset({"identify", "track", "page", "screen", "group", "alias"})
MAX_ID_LENGTH = 255
MAX_MESSAGE_ID_LENGTH = 100
MAX_NAME_LENGTH = 200
MAX_CHANNEL_LENGTH = 32
FUTURE_TOLERANCE = timedelta(days=1)
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
TIME_RANGE = "from 1970-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z"
TIMESTAMP_IN_FUTURE = "timestamp_in_future"


class EventRow(NamedTuple):
    """One validated event, in the column order ``storage`` writes."""

    message_id: str
    type: str
    name: str
    user_id: str
    anonymous_id: str
    group_id: str
    previous_id: str
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime
    warnings: list
    properties: dict
    traits: dict
    context: dict
    channel: str


class Batch(NamedTuple):
    """What a whole request shares: its receive time and batch-level fields."""

    received_at: datetime
    sent_at: datetime | None = None  # the top-level sentAt of a batch, validated
    context: dict | None = None  # the top-level context of a batch


def validate_message(
    message,
    kind: str | None,
    batch: Batch,
    errors: list[dict],
    index: int | None = None,
    check_text: bool = False,
) -> EventRow | None:
    """Validate one message; on problems append them to ``errors`` and return None.

    ``kind`` is the call type from the URL (None in a batch, where each message
    names its own ``type``). ``index`` places the message within a batch, and
    prefixes field names as ``batch[index].``. ``check_text`` asks for the
    slower walk that finds strings PostgreSQL cannot store.
    """
    prefix = "" if index is None else f"batch[{index}]."
    before = len(errors)

    def bad(field: str, reason: str) -> None:
        entry = {"field": prefix + field, "reason": reason}
        if index is not None:
            entry = {"index": index, **entry}
        errors.append(entry)

    if type(message) is not dict:
        if index is None:
            errors.append({"field": "body", "reason": "must be a JSON object"})
        else:
            errors.append(
                {"index": index, "field": f"batch[{index}]", "reason": "must be a JSON object"}
            )
        return None

    if kind is None:
        kind = message.get("type")
        if kind not in TYPES:
            bad("type", f"must be one of {', '.join(sorted(TYPES))}")
            return None

    user_id = _id(message.get("userId"), "userId", bad)
    anonymous_id = _id(message.get("anonymousId"), "anonymousId", bad)
    if user_id == "" and anonymous_id == "":
        bad("userId", "userId or anonymousId is required")
    group_id = previous_id = ""
    name = ""
    if kind == "track":
        name = message.get("event")
        if type(name) is not str or not name:
            bad("event", "required: the name of the event, a non-empty string")
            name = ""
        elif len(name) > MAX_NAME_LENGTH:
            bad("event", f"longer than {MAX_NAME_LENGTH} characters")
    elif kind == "page" or kind == "screen":
        name = message.get("name")
        if name is None:
            name = ""
        elif type(name) is not str:
            bad("name", "must be a string")
        elif len(name) > MAX_NAME_LENGTH:
            bad("name", f"longer than {MAX_NAME_LENGTH} characters")
    elif kind == "group":
        group_id = _id(message.get("groupId"), "groupId", bad)
        if group_id == "":
            bad("groupId", "required for group calls")
    elif kind == "alias":
        previous_id = _id(message.get("previousId"), "previousId", bad)
        if previous_id == "":
            bad("previousId", "required for alias calls")
        if user_id == "":
            bad("userId", "required for alias calls (the new id)")

    message_id = message.get("messageId")
    if message_id is None or message_id == "":
        message_id = str(uuid.uuid4())
    else:
        message_id = _id(message_id, "messageId", bad, MAX_MESSAGE_ID_LENGTH)

    properties = _object(message.get("properties"), "properties", bad)
    traits = _object(message.get("traits"), "traits", bad)
    context = message.get("context")
    if context is None:
        context = batch.context if batch.context is not None else {}
    elif type(context) is not dict:
        bad("context", "must be a JSON object")
        context = {}
    elif batch.context:
        context = {**batch.context, **context}
    channel = ""
    if context:
        context_traits = context.get("traits")
        if context_traits is not None and type(context_traits) is not dict:
            bad("context.traits", "must be a JSON object")
        channel = context.get("channel")
        if type(channel) is not str or len(channel) > MAX_CHANNEL_LENGTH:
            channel = ""
    if kind == "page":
        category = message.get("category")
        if category is not None:
            if type(category) is not str:
                bad("category", "must be a string")
            elif "category" not in properties:
                properties["category"] = category  # analytics.js does the same

    received_at = batch.received_at
    raw_timestamp = message.get("timestamp")
    timestamp_field = "timestamp"
    if raw_timestamp is None:
        # RudderStack's SDKs send originalTimestamp instead of timestamp.
        raw_timestamp = message.get("originalTimestamp")
        timestamp_field = "originalTimestamp"
    original_timestamp = parse_time(raw_timestamp, timestamp_field, bad)
    raw_sent_at = message.get("sentAt")
    sent_at = batch.sent_at if raw_sent_at is None else parse_time(raw_sent_at, "sentAt", bad)
    if len(errors) > before:
        return None

    warnings = []
    if original_timestamp is None:
        timestamp = received_at
    elif sent_at is None:
        timestamp = original_timestamp
    else:
        # Both lie in the time range, so this cannot overflow.
        timestamp = received_at - (sent_at - original_timestamp)
        if timestamp < EARLIEST_TIME:
            bad(
                timestamp_field,
                "corrected for clock skew (receivedAt - (sentAt - timestamp)), it falls "
                f"before 1970-01-01T00:00:00Z; a stored time must lie {TIME_RANGE}",
            )
            return None
    if timestamp - received_at > FUTURE_TOLERANCE:
        timestamp = received_at
        warnings.append(TIMESTAMP_IN_FUTURE)

    if check_text:
        for field, reason in unstorable_text(message):
            bad(field, reason)
        if len(errors) > before:
            return None

    return EventRow(
        message_id,
        kind,
        name,
        user_id,
        anonymous_id,
        group_id,
        previous_id,
        timestamp,
        original_timestamp,
        sent_at,
        received_at,
        warnings,
        properties,
        traits,
        context,
        channel,
    )


def _id(value, field: str, bad, max_length: int = MAX_ID_LENGTH) -> str | None:
    """An identifier as a string ("" when absent); Segment clients may send numbers."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        text = value
    elif kind is int:
        text = str(value)
    elif kind is float:
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        bad(field, "must be a string or a number")
        return None  # not "": the field is wrong, not missing
    if len(text) > max_length:
        what = "" if kind is str else " as a string"
        bad(field, f"longer than {max_length} characters{what}")
    return text


def _object(value, field: str, bad) -> dict:
    if value is None:
        return {}
    if type(value) is not dict:
        bad(field, "must be a JSON object")
        return {}
    return value


def parse_time(value, field: str, bad) -> datetime | None:
    """An ISO-8601 time in the time range, UTC when it names no offset; None when absent."""
    if value is None:
        return None
    if type(value) is not str:
        bad(field, "must be an ISO-8601 date-time string")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        bad(field, f"{value[:40]!r} is not an ISO-8601 date-time")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Compared as instants: no conversion, which could overflow at year 1 or 9999.
    if not EARLIEST_TIME <= parsed < LATEST_TIME:
        bad(field, f"{value[:40]!r} is out of range; a stored time must lie {TIME_RANGE}")
        return None
    # In UTC: PostgreSQL refuses offsets beyond 15:59 that Python reads (up to 23:59).
    return parsed.astimezone(UTC)


def unstorable_text(value, path: str = ""):
    """Yield ``(field, reason)`` for each string PostgreSQL cannot store.

    PostgreSQL text and jsonb hold neither NUL characters nor lone UTF-16
    surrogates; both decode fine from JSON ``\\u`` escapes, so they must be
    refused here rather than fail the insert. Iterative, in document order:
    the body's depth is checked, but a walk that cannot run out of stack
    need not rely on it.
    """
    stack = [(path, value, None)]
    while stack:
        path, value, key_problem = stack.pop()
        if key_problem:
            yield path, f"a key {key_problem}"
        elif type(value) is str:
            reason = _text_problem(value)
            if reason:
                yield path, reason
        elif type(value) is dict:
            children = []
            for key, item in value.items():
                reason = _text_problem(key)
                if reason:
                    children.append((path or "body", None, reason))
                else:
                    children.append((f"{path}.{key}" if path else str(key), item, None))
            stack.extend(reversed(children))
        elif type(value) is list:
            stack.extend(
                (f"{path}[{position}]", item, None)
                for position, item in reversed(list(enumerate(value)))
            )


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate (\\ud800-\\udfff), which cannot be stored"
    return None
