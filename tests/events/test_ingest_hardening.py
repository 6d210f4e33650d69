"""What /v1 refuses so that later stages never meet it, and how it behaves under stress.

Each refusal here used to be accepted (and then stop processing for every
workspace, or break a customer's timeline) or to answer 500: times outside
1970-2200, JSON nested deeper than 64 levels, ids longer than their columns,
a lone surrogate in the body write key. Also: chunked bodies through a real
gunicorn, and one log line per minute while the rate limiter's Redis is down.
"""

import gzip
import http.client
import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine

from engage.events.models import Event
from engage.events.processing import process_pending
from tests.live_processes import free_port, gunicorn, process_env, redis_server

from .conftest import basic_auth

RANGE = "from 1970-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z"
DEPTH_REASON = "nested deeper than 64 levels"


def refused(response, status: int = 400) -> list[dict]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["errors"]


# --- times: 1970-01-01 up to 2200-01-01 -------------------------------------------


OUT_OF_RANGE = [
    "0001-01-01T00:00:00+01:00",  # stored as year 0 (BC) by PostgreSQL
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",  # stored as year 10000
    "9999-12-31T23:59:59-00:01",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:59:59+01:00",  # 1969-12-31T23:59:59Z
    "2200-01-01T00:00:00Z",
    "2199-12-31T23:59:59-00:01",  # 2200-01-01T00:00:59Z
    "2200-01-01T00:00:00",  # no offset: UTC
]
NOT_DATES = ["0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z"]


@pytest.mark.parametrize("field", ["timestamp", "originalTimestamp", "sentAt"])
@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_time_outside_the_range_is_refused_naming_the_field(ingest, workspace, field, value):
    body = {"userId": "u", "event": "E", field: value}
    errors = refused(ingest("track", body, key=workspace.write_key))

    assert errors == [
        {"field": field, "reason": f"{value!r} is out of range; a stored time must lie {RANGE}"}
    ]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("field", ["timestamp", "sentAt"])
@pytest.mark.parametrize("value", NOT_DATES)
def test_year_0_and_year_10000_are_not_dates(ingest, workspace, field, value):
    errors = refused(
        ingest("track", {"userId": "u", "event": "E", field: value}, key=workspace.write_key)
    )
    assert [entry["field"] for entry in errors] == [field]
    assert "is not an ISO-8601 date-time" in errors[0]["reason"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "value",
    [
        "1970-01-01T00:00:00Z",
        "1970-01-01T01:00:00+01:00",
        "2199-12-31T23:59:59Z",
        "2200-01-01T00:59:59+01:00",
        # Offsets Python reads but PostgreSQL would refuse (beyond 15:59): stored in UTC.
        "2056-09-28T12:34:36+16:29",
        "2056-09-28T12:34:36-23:59",
    ],
)
def test_the_edges_of_the_range_are_stored_and_read_back(ingest, workspace, value):
    moment = datetime.fromisoformat(value)
    body = {"userId": "u", "event": "E", "timestamp": value, "sentAt": value}
    assert ingest("track", body, key=workspace.write_key).status_code == 200

    event = Event.objects.get()
    assert event.original_timestamp == moment
    assert event.sent_at == moment
    # No clock skew (sentAt == timestamp): the event happened when it arrived.
    assert event.timestamp == event.received_at
    assert process_pending() == 1
    event.refresh_from_db()
    assert event.processed_at is not None
    assert not any("processing failed" in warning for warning in event.warnings)


def test_a_timestamp_that_clock_skew_correction_moves_before_1970_is_refused(ingest, workspace):
    # Sent 229 years after it happened, by the client's clock: 229 years before now.
    body = {
        "userId": "u",
        "event": "E",
        "timestamp": "1970-01-01T00:00:00Z",
        "sentAt": "2199-12-31T00:00:00Z",
    }
    errors = refused(ingest("track", body, key=workspace.write_key))

    assert [entry["field"] for entry in errors] == ["timestamp"]
    assert "corrected for clock skew" in errors[0]["reason"]
    assert RANGE in errors[0]["reason"]
    assert Event.objects.count() == 0


def test_a_batch_names_the_event_and_field_with_a_time_out_of_range(ingest, workspace):
    good = {"type": "track", "userId": "u", "event": "E"}
    items = [
        good,
        good,
        {**good, "timestamp": "0001-01-01T00:00:00+01:00"},
        {**good, "sentAt": "9999-12-31T23:59:59-12:00"},
        {**good, "originalTimestamp": "2200-01-01T00:00:00Z"},
    ]
    errors = refused(ingest("batch", {"batch": items}, key=workspace.write_key))

    assert [(entry["index"], entry["field"]) for entry in errors] == [
        (2, "batch[2].timestamp"),
        (3, "batch[3].sentAt"),
        (4, "batch[4].originalTimestamp"),
    ]
    assert all(RANGE in entry["reason"] for entry in errors)
    assert Event.objects.count() == 0


def test_a_batch_level_sent_at_out_of_range_is_named_once(ingest, workspace):
    body = {
        "sentAt": "0001-01-01T00:00:00+14:00",
        "batch": [
            {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-01-01T00:00:00Z"}
        ]
        * 3,
    }
    errors = refused(ingest("batch", body, key=workspace.write_key))

    assert errors == [
        {
            "field": "sentAt",
            "reason": "'0001-01-01T00:00:00+14:00' is out of range; "
            f"a stored time must lie {RANGE}",
        }
    ]
    assert Event.objects.count() == 0


def test_a_batch_at_the_edges_of_the_range_is_stored_and_processed(ingest, workspace):
    body = {
        "sentAt": "2199-12-31T23:59:59Z",
        "batch": [
            {"type": "identify", "userId": "u", "timestamp": "2199-12-31T23:59:58Z"},
            {
                "type": "track",
                "userId": "u",
                "event": "E",
                "timestamp": "1970-01-01T00:00:00Z",
                "sentAt": "1970-01-01T00:00:01Z",
            },
        ],
    }
    assert ingest("batch", body, key=workspace.write_key).status_code == 200

    assert process_pending() == 2
    for event in Event.objects.all():
        assert event.processed_at is not None
        assert event.warnings == []
        assert event.received_at - event.timestamp == timedelta(seconds=1)


# --- nesting depth: 64 levels -----------------------------------------------------


def nested(levels: int):
    """A value that is ``levels`` arrays deep (``[[1]]`` is 2)."""
    value = 1
    for _ in range(levels):
        value = [value]
    return value


def deep_body(path: str, depth: int) -> dict:
    """A valid body for ``/v1/<path>`` nested exactly ``depth`` levels deep."""
    if path == "batch":  # the body, batch, the event, properties: 4 levels
        return {
            "batch": [
                {
                    "type": "track",
                    "userId": "u",
                    "event": "E",
                    "properties": {"x": nested(depth - 4)},
                }
            ]
        }
    body = {"userId": "u", "event": "E", "groupId": "g", "previousId": "p"}
    field = "traits" if path in ("identify", "group") else "properties"
    body[field] = {"x": nested(depth - 2)}  # the body, the field: 2 levels
    return body


@pytest.mark.parametrize("path", ["identify", "track", "page", "screen", "group", "alias", "batch"])
def test_64_levels_are_stored_and_65_refused_on_every_endpoint(ingest, workspace, path):
    assert ingest(path, deep_body(path, 64), key=workspace.write_key).status_code == 200

    errors = refused(ingest(path, deep_body(path, 65), key=workspace.write_key))
    assert errors == [{"field": "body", "reason": DEPTH_REASON}]
    assert Event.objects.count() == 1
    process_pending()
    assert Event.objects.get().processed_at is not None


def deep_raw(path: str, opener: str, depth: int, write_key: str) -> bytes:
    closer = "]" if opener == "[" else "}"
    inner = opener * depth + "1" + closer * depth
    if path == "batch":
        event = '{"type":"track","userId":"u","event":"E","properties":{"x":' + inner + "}}"
        return ('{"writeKey":"' + write_key + '","batch":[' + event + "]}").encode()
    return (
        '{"writeKey":"' + write_key + '","userId":"u","event":"E","groupId":"g",'
        '"previousId":"p","properties":{"x":' + inner + "}}"
    ).encode()


@pytest.mark.parametrize(
    ("path", "opener", "depth"),
    [
        *(
            (path, "[", 10_000)
            for path in ("identify", "track", "page", "screen", "group", "alias")
        ),
        ("track", '{"a":', 1000),
        ("batch", "[", 1000),
        ("batch", "[", 10_000),
        ("batch", "[", 100_000),
        ("batch", '{"a":', 10_000),
    ],
)
def test_very_deep_json_is_a_400_before_the_body_key_is_checked(
    ingest, workspace, path, opener, depth
):
    errors = refused(ingest(path, deep_raw(path, opener, depth, workspace.write_key)))
    assert errors == [{"field": "body", "reason": DEPTH_REASON}]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("path", ["track", "batch"])
def test_deep_json_holding_a_surrogate_escape_is_a_400(ingest, workspace, path):
    # An escaped emoji (a surrogate pair) sends the body through the text walk.
    inner = "[" * 950 + r'"\ud83d\ude00"' + "]" * 950
    if path == "batch":
        raw = (
            '{"batch":[{"type":"track","userId":"u","event":"E","properties":{"x":' + inner + "}}]}"
        )
    else:
        raw = '{"userId":"u","event":"E","properties":{"x":' + inner + "}}"

    errors = refused(ingest(path, raw.encode(), key=workspace.write_key))
    assert errors == [{"field": "body", "reason": DEPTH_REASON}]
    assert Event.objects.count() == 0


def test_text_60_levels_deep_is_checked_for_what_postgresql_cannot_store(ingest, workspace):
    raw = '{"userId":"u","event":"E","properties":{"x":' + "[" * 60 + r'"\u0000"' + "]" * 60 + "}}"
    errors = refused(ingest("track", raw.encode(), key=workspace.write_key))
    assert errors[0]["field"] == "properties.x" + "[0]" * 60
    assert "NUL" in errors[0]["reason"]


# --- the body write key ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("track", rb'{"writeKey":"\ud800","userId":"u","event":"E"}'),
        ("batch", rb'{"writeKey":"\udfff","batch":[]}'),
    ],
)
def test_a_lone_surrogate_in_the_body_write_key_is_a_401_naming_it(ingest, workspace, path, raw):
    errors = refused(ingest(path, raw), status=401)
    assert [entry["field"] for entry in errors] == ["writeKey"]
    assert "unknown write key" in errors[0]["reason"]
    assert Event.objects.count() == 0


# --- ids and their columns -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field", "value", "limit"),
    [
        ("track", "userId", 10**300, 255),
        ("track", "userId", 1e308, 255),
        ("track", "anonymousId", -(10**255), 255),
        ("track", "messageId", 10**150, 100),
        ("track", "messageId", 1e100, 100),
        ("group", "groupId", 10**256, 255),
        ("alias", "previousId", 1e300, 255),
    ],
)
def test_a_number_longer_than_its_column_is_refused_naming_the_field(
    ingest, workspace, caplog, path, field, value, limit
):
    body = {"userId": "u", "event": "E", "groupId": "g", "previousId": "p", field: value}
    errors = refused(ingest(path, body, key=workspace.write_key))

    assert errors == [{"field": field, "reason": f"longer than {limit} characters as a string"}]
    assert "database" not in json.dumps(errors)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert Event.objects.count() == 0


def test_numbers_that_fit_their_columns_are_stored_as_strings(ingest, workspace):
    body = {"userId": 10**254, "anonymousId": 1e254, "event": "E", "messageId": 10**99}
    assert ingest("track", body, key=workspace.write_key).status_code == 200
    event = Event.objects.get()
    assert event.user_id == str(10**254)
    assert event.anonymous_id == str(int(1e254))
    assert event.message_id == str(10**99)


def test_a_long_number_in_a_batch_names_the_event(ingest, workspace):
    items = [
        {"type": "track", "userId": "u", "event": "E"},
        {"type": "track", "userId": 10**300, "event": "E"},
    ]
    errors = refused(ingest("batch", {"batch": items}, key=workspace.write_key))
    assert errors == [
        {"index": 1, "field": "batch[1].userId", "reason": "longer than 255 characters as a string"}
    ]
    assert Event.objects.count() == 0


# --- chunked bodies through gunicorn -------------------------------------------------


@pytest.fixture(scope="module")
def engage_url(django_db_setup, tmp_path_factory):
    """engage served by gunicorn on the test database, tasks inline (no broker)."""
    with gunicorn(process_env(), tmp_path_factory.mktemp("server")) as url:
        yield url


def post_chunked(url: str, path: str, parts: list[bytes], write_key: str, **headers):
    """POST ``parts`` as HTTP/1.1 chunks, with no Content-Length."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(
            "POST",
            f"/v1/{path}",
            body=iter(parts),
            headers={
                "Authorization": basic_auth(write_key),
                "Content-Type": "application/json",
                **headers,
            },
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.usefixtures("transactional_db")
def test_a_chunked_body_is_read_and_bounded_like_any_other(workspace, engage_url):
    event = json.dumps({"userId": "u", "event": "Chunked", "messageId": "c-1"}).encode()
    status, body = post_chunked(
        engage_url, "track", [event[:10], event[10:20], event[20:]], workspace.write_key
    )
    assert (status, body) == (200, {"success": True})
    assert Event.objects.get(message_id="c-1").name == "Chunked"

    batch = json.dumps(
        {"batch": [{"type": "track", "userId": "u", "event": "Zipped", "messageId": "c-2"}]}
    )
    zipped = gzip.compress(batch.encode())
    status, _ = post_chunked(
        engage_url,
        "batch",
        [zipped[:7], zipped[7:]],
        workspace.write_key,
        **{"Content-Encoding": "gzip"},
    )
    assert status == 200
    assert Event.objects.get(message_id="c-2").name == "Zipped"

    # Over the 32 KB of one event, in 1 KB chunks: refused without reading it all.
    pad = json.dumps({"userId": "u", "event": "E", "properties": {"pad": "x" * 40_000}}).encode()
    status, body = post_chunked(
        engage_url,
        "track",
        [pad[i : i + 1024] for i in range(0, len(pad), 1024)],
        workspace.write_key,
    )
    assert status == 413
    assert body["errors"] == [{"field": "body", "reason": "the body is larger than 32768 bytes"}]

    bomb = gzip.compress(
        b'{"userId":"u","event":"E","properties":{"pad":"' + b"x" * 10_000_000 + b'"}}'
    )
    status, body = post_chunked(
        engage_url,
        "track",
        [bomb[:100], bomb[100:]],
        workspace.write_key,
        **{"Content-Encoding": "gzip"},
    )
    assert status == 413
    assert body["errors"] == [
        {"field": "body", "reason": "the decompressed body is larger than 32768 bytes"}
    ]
    assert Event.objects.count() == 2


# --- the rate limiter's Redis down ------------------------------------------------------


@pytest.mark.slow
def test_a_rate_limiter_outage_is_logged_once_a_minute_and_ingestion_goes_on(
    ingest, workspace, settings, tmp_path, caplog
):
    port = free_port()
    logger = "engage.events.ingestion.ratelimit"
    caplog.set_level(logging.INFO, logger=logger)

    def outage_lines():
        return [record.getMessage() for record in caplog.records if record.name == logger]

    def track(n):
        response = ingest(
            "track", {"userId": "u", "event": "E", "messageId": f"m-{n}"}, key=workspace.write_key
        )
        assert response.status_code == 200, response.content

    with redis_server(port, tmp_path) as location:
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": location}}
        track(0)  # counted in Redis
    assert outage_lines() == []

    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        for n in range(1, 21):
            track(n)
        lines = outage_lines()
        assert len(lines) == 1
        assert lines[0].startswith("rate limiter unavailable (ConnectionError")

        clock.shift(timedelta(seconds=59))
        track(21)
        assert len(outage_lines()) == 1
        clock.shift(timedelta(seconds=1))
        for n in range(22, 31):
            track(n)
    lines = outage_lines()
    assert len(lines) == 2
    # Requests 2-21 before the minute was up, and the one that logged it.
    assert lines[1].endswith("21 request(s) admitted uncounted in the last 60 s")

    with redis_server(port, tmp_path):
        track(31)
        track(32)
    lines = outage_lines()
    assert len(lines) == 3
    assert lines[2] == (
        "rate limiter available again; 8 request(s) admitted uncounted since the last log line"
    )
    assert Event.objects.count() == 33
    assert not [record for record in caplog.records if record.exc_info]
