"""Size caps, gzip and the per-workspace request rate of the /v1 endpoints."""

import gzip
import json
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engage.events.models import Event

EVENT_LIMIT = 32 * 1024


def compact(value) -> bytes:
    """How engage measures an event inside a batch: compact UTF-8 JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def padded_body(size: int) -> bytes:
    """A valid track body of exactly ``size`` bytes."""
    body = {"userId": "u", "event": "E", "properties": {"pad": ""}}
    body["properties"]["pad"] = "x" * (size - len(compact(body)))
    raw = compact(body)
    assert len(raw) == size
    return raw


def test_a_single_event_up_to_the_limit_is_accepted_and_one_byte_more_is_413(ingest, workspace):
    ok = ingest("track", padded_body(EVENT_LIMIT - 1), key=workspace.write_key)
    assert ok.status_code == 200
    ok = ingest("track", padded_body(EVENT_LIMIT), key=workspace.write_key)
    assert ok.status_code == 200

    response = ingest("track", padded_body(EVENT_LIMIT + 1), key=workspace.write_key)
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"field": "body", "reason": f"the body is larger than {EVENT_LIMIT} bytes"}
    ]
    assert Event.objects.count() == 2


def test_an_oversize_event_inside_a_batch_refuses_the_batch_naming_it(ingest, workspace):
    def item(size: int) -> dict:
        event = {"type": "track", "userId": "u", "event": "E", "properties": {"pad": ""}}
        event["properties"]["pad"] = "é" * 0 + "x" * (size - len(compact(event)))
        assert len(compact(event)) == size
        return event

    fits = {"batch": [item(EVENT_LIMIT), item(100)]}
    assert ingest("batch", fits, key=workspace.write_key).status_code == 200

    response = ingest(
        "batch", {"batch": [item(100), item(EVENT_LIMIT + 1)]}, key=workspace.write_key
    )
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {
            "index": 1,
            "field": "batch[1]",
            "reason": f"the event is {EVENT_LIMIT + 1} bytes, more than {EVENT_LIMIT}",
        }
    ]
    assert Event.objects.count() == 2


def test_a_batch_body_over_500_kb_is_413(ingest, workspace):
    items = [
        {"type": "track", "userId": "u", "event": "E", "properties": {"pad": "x" * 20_000}}
    ] * 26
    response = ingest("batch", {"batch": items}, key=workspace.write_key)
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"
    assert Event.objects.count() == 0


def test_too_many_events_in_one_batch_is_413(ingest, workspace, settings):
    settings.ENGAGE_MAX_BATCH_EVENTS = 3
    items = [{"type": "track", "userId": "u", "event": "E"}] * 4
    response = ingest("batch", {"batch": items}, key=workspace.write_key)
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"field": "batch", "reason": "more than 3 events in one request"}
    ]
    assert Event.objects.count() == 0


# --- gzip ------------------------------------------------------------------------


def test_a_gzip_body_is_accepted(ingest, workspace):
    body = {"batch": [{"type": "identify", "userId": "u1", "traits": {"name": "Ada Lovelace"}}]}
    response = ingest("batch", body, key=workspace.write_key, gzipped=True)
    assert response.status_code == 200
    assert Event.objects.get().traits == {"name": "Ada Lovelace"}


def test_a_gzip_bomb_is_refused_while_inflating(ingest, workspace):
    # 64 MB of zeros compress to about 64 KB, well under the 500 KB wire limit.
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"0" * (1 << 20)
    bomb = b"".join(deflate.compress(chunk) for _ in range(64)) + deflate.flush()
    assert len(bomb) < 500 * 1024

    tracemalloc.start()
    try:
        response = ingest("batch", bomb, HTTP_CONTENT_ENCODING="gzip", key=workspace.write_key)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"field": "body", "reason": "the decompressed body is larger than 512000 bytes"}
    ]
    assert peak < 8 * 1024 * 1024  # never anywhere near the 64 MB it would inflate to
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"this is not gzip", "not valid gzip"),
        # mtime=0: the same bytes (and test id) in every pytest-xdist worker.
        (gzip.compress(b'{"userId": "u", "event": "E"}', mtime=0)[:-12], "truncated"),
    ],
)
def test_a_broken_gzip_body_is_400(ingest, workspace, data, reason):
    response = ingest("track", data, HTTP_CONTENT_ENCODING="gzip", key=workspace.write_key)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"
    assert reason in response.json()["errors"][0]["reason"]


def test_an_unsupported_content_encoding_is_415(ingest, workspace):
    body = {"userId": "u", "event": "E"}
    response = ingest("track", body, HTTP_CONTENT_ENCODING="br", key=workspace.write_key)
    assert response.status_code == 415
    assert response.json()["errors"][0]["field"] == "Content-Encoding"
    assert Event.objects.count() == 0


# --- rate limit ------------------------------------------------------------------


def test_a_workspace_over_its_request_rate_gets_429_with_retry_after(
    ingest, workspace, other_workspace
):
    workspace.workspace.rate_limit_per_second = 2
    workspace.workspace.save()
    moment = datetime(2026, 3, 1, 9, 0, 0, 250_000, tzinfo=UTC)

    with time_machine.travel(moment, tick=False):
        statuses = [
            ingest("track", {"userId": "u", "event": "E"}, key=workspace.write_key).status_code
            for _ in range(3)
        ]
        limited = ingest("track", {"userId": "u", "event": "E"}, key=workspace.write_key)
        # Another workspace has its own budget.
        other = ingest("track", {"userId": "u", "event": "E"}, key=other_workspace.write_key)

    assert statuses == [200, 200, 429]
    assert limited.status_code == 429
    assert limited["Retry-After"] == "1"
    assert limited.json()["errors"][0]["field"] == "workspace"
    assert other.status_code == 200
    assert Event.objects.filter(workspace=workspace.workspace).count() == 2

    with time_machine.travel(moment + timedelta(seconds=1), tick=False):
        later = ingest("track", {"userId": "u", "event": "E"}, key=workspace.write_key)
    assert later.status_code == 200


def test_the_default_rate_applies_when_the_workspace_sets_none(ingest, workspace, settings):
    settings.ENGAGE_DEFAULT_RATE_LIMIT = 1
    with time_machine.travel(datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC), tick=False):
        first = ingest("track", {"userId": "u", "event": "E"}, key=workspace.write_key)
        second = ingest("track", {"userId": "u", "event": "E"}, key=workspace.write_key)
    assert (first.status_code, second.status_code) == (200, 429)
