"""The Segment-compatible /v1 endpoints: what is stored, and what is refused."""

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client

from engage.events.models import Event

from .conftest import basic_auth

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def ok(response) -> None:
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}


# --- one endpoint per call type ------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "identify",
            {"userId": "u1", "traits": {"email": "ada@example.com", "plan": "pro"}},
            {
                "type": "identify",
                "user_id": "u1",
                "traits": {"email": "ada@example.com", "plan": "pro"},
            },
        ),
        (
            "track",
            {"anonymousId": "a1", "event": "Order Completed", "properties": {"total": 42.5}},
            {
                "type": "track",
                "anonymous_id": "a1",
                "name": "Order Completed",
                "properties": {"total": 42.5},
            },
        ),
        (
            "page",
            {"userId": "u1", "name": "Pricing", "category": "Docs", "properties": {"url": "/p"}},
            {
                "type": "page",
                "name": "Pricing",
                "properties": {"url": "/p", "category": "Docs"},
            },
        ),
        (
            "screen",
            {"userId": "u1", "name": "Home", "properties": {"variant": "b"}},
            {"type": "screen", "name": "Home", "properties": {"variant": "b"}},
        ),
        (
            "group",
            {"userId": "u1", "groupId": "acme-inc", "traits": {"employees": 120}},
            {"type": "group", "group_id": "acme-inc", "traits": {"employees": 120}},
        ),
        (
            "alias",
            {"userId": "u1", "previousId": "a1"},
            {"type": "alias", "user_id": "u1", "previous_id": "a1"},
        ),
    ],
)
def test_each_call_type_is_stored_unprocessed_with_its_fields(
    ingest, workspace, path, body, expected
):
    context = {"ip": "203.0.113.7", "traits": {"email": "ada@example.com"}, "channel": "web"}
    ok(ingest(path, {**body, "messageId": "m-1", "context": context}, key=workspace.write_key))

    event = Event.objects.get()
    assert event.workspace_id == workspace.workspace.id
    assert event.message_id == "m-1"
    assert event.context == context
    assert event.channel == "web"
    assert event.processed_at is None
    assert event.profile_id is None
    for field, value in expected.items():
        assert getattr(event, field) == value, field


def test_the_body_write_key_authenticates_like_segment_browser_clients(ingest, workspace):
    body = {"writeKey": workspace.write_key, "userId": "u1", "event": "Signed Up"}
    ok(ingest("track", body))
    assert Event.objects.get().name == "Signed Up"


def test_numeric_ids_are_stored_as_strings(ingest, workspace):
    ok(
        ingest(
            "identify", {"userId": 42, "anonymousId": 7.0, "messageId": 99}, key=workspace.write_key
        )
    )
    event = Event.objects.get()
    assert (event.user_id, event.anonymous_id, event.message_id) == ("42", "7", "99")


def test_a_missing_message_id_is_generated(ingest, workspace):
    for _ in range(2):
        ok(ingest("track", {"userId": "u1", "event": "Clicked"}, key=workspace.write_key))
    ids = [event.message_id for event in Event.objects.all()]
    assert len(set(ids)) == 2
    for message_id in ids:
        uuid.UUID(message_id)


def test_only_a_short_string_context_channel_fills_the_channel_column(ingest, workspace):
    for message_id, channel in [("a", "whatsapp"), ("b", "x" * 33), ("c", 5)]:
        body = {
            "userId": "u1",
            "event": "E",
            "messageId": message_id,
            "context": {"channel": channel},
        }
        ok(ingest("track", body, key=workspace.write_key))
    stored = dict(Event.objects.values_list("message_id", "channel"))
    assert stored == {"a": "whatsapp", "b": "", "c": ""}


def test_batch_stores_every_type_and_merges_batch_level_context(ingest, workspace):
    body = {
        "batch": [
            {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}, "messageId": "1"},
            {
                "type": "track",
                "userId": "u1",
                "event": "Opened",
                "messageId": "2",
                "context": {"locale": "fr-FR"},
            },
            {"type": "page", "anonymousId": "a1", "name": "Home", "messageId": "3"},
            {"type": "screen", "anonymousId": "a1", "messageId": "4"},
            {"type": "group", "userId": "u1", "groupId": "g1", "messageId": "5"},
            {"type": "alias", "userId": "u1", "previousId": "a1", "messageId": "6"},
        ],
        "context": {"library": {"name": "analytics-node"}, "locale": "en-US"},
    }
    ok(ingest("batch", body, key=workspace.write_key))

    events = {event.message_id: event for event in Event.objects.all()}
    assert [events[str(n)].type for n in range(1, 7)] == [
        "identify",
        "track",
        "page",
        "screen",
        "group",
        "alias",
    ]
    assert events["1"].context == {"library": {"name": "analytics-node"}, "locale": "en-US"}
    # The event's own context wins over the batch's, key by key.
    assert events["2"].context == {"library": {"name": "analytics-node"}, "locale": "fr-FR"}


# --- timestamps ------------------------------------------------------------------


def test_clock_skew_is_corrected_from_sent_at(ingest, workspace, frozen):
    # The device clock is 10 minutes fast: it stamped the event at 12:05 and
    # sent it at 12:10 by its clock; the server received it at 12:00.
    body = {
        "userId": "u1",
        "event": "E",
        "timestamp": "2026-01-10T12:05:00Z",
        "sentAt": "2026-01-10T12:10:00.000Z",
    }
    ok(ingest("track", body, key=workspace.write_key))

    event = Event.objects.get()
    assert event.timestamp == datetime(2026, 1, 10, 11, 55, tzinfo=UTC)
    assert event.original_timestamp == datetime(2026, 1, 10, 12, 5, tzinfo=UTC)
    assert event.sent_at == datetime(2026, 1, 10, 12, 10, tzinfo=UTC)
    assert event.received_at == NOW
    assert event.warnings == []


def test_a_batch_level_sent_at_corrects_every_event(ingest, workspace, frozen):
    body = {
        "sentAt": "2026-01-10T11:00:00+00:00",  # device clock one hour slow
        "batch": [
            {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-01-10T10:59:00Z"},
            {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-01-10T10:30:00Z"},
        ],
    }
    ok(ingest("batch", body, key=workspace.write_key))
    stamps = sorted(Event.objects.values_list("timestamp", flat=True))
    assert stamps == [NOW - timedelta(minutes=30), NOW - timedelta(minutes=1)]


def test_without_sent_at_the_timestamp_is_kept_and_without_timestamp_it_is_the_receive_time(
    ingest, workspace, frozen
):
    stamped = {
        "userId": "u",
        "event": "E",
        "messageId": "stamped",
        "timestamp": "2026-01-09T08:00:00+02:00",
    }
    ok(ingest("track", stamped, key=workspace.write_key))
    ok(ingest("track", {"userId": "u", "event": "E", "messageId": "bare"}, key=workspace.write_key))

    stamps = dict(Event.objects.values_list("message_id", "timestamp"))
    assert stamps == {"stamped": datetime(2026, 1, 9, 6, 0, tzinfo=UTC), "bare": NOW}
    assert Event.objects.get(message_id="bare").original_timestamp is None


def test_rudderstack_original_timestamp_is_read_when_timestamp_is_absent(ingest, workspace, frozen):
    body = {"userId": "u", "event": "E", "originalTimestamp": "2026-01-10T11:00:00Z"}
    ok(ingest("track", body, key=workspace.write_key))
    assert Event.objects.get().timestamp == NOW - timedelta(hours=1)


def test_a_timestamp_more_than_a_day_ahead_is_clamped_and_flagged(ingest, workspace, frozen):
    far = {
        "userId": "u",
        "event": "E",
        "messageId": "far",
        "timestamp": iso(NOW + timedelta(days=3)),
    }
    near = {
        "userId": "u",
        "event": "E",
        "messageId": "near",
        "timestamp": iso(NOW + timedelta(hours=23)),
    }
    ok(ingest("track", far, key=workspace.write_key))
    ok(ingest("track", near, key=workspace.write_key))

    far_event = Event.objects.get(message_id="far")
    assert far_event.timestamp == NOW
    assert far_event.original_timestamp == NOW + timedelta(days=3)
    assert far_event.warnings == ["timestamp_in_future"]
    near_event = Event.objects.get(message_id="near")
    assert near_event.timestamp == NOW + timedelta(hours=23)
    assert near_event.warnings == []


def test_a_late_event_keeps_its_time_and_lands_in_its_place_in_the_timeline(
    ingest, workspace, frozen
):
    ok(
        ingest(
            "track",
            {"userId": "u", "event": "Recent", "timestamp": iso(NOW)},
            key=workspace.write_key,
        )
    )
    # Queued offline for five days, sent now by a device with a correct clock.
    late = {
        "userId": "u",
        "event": "Old",
        "timestamp": iso(NOW - timedelta(days=5)),
        "sentAt": iso(NOW),
    }
    ok(ingest("track", late, key=workspace.write_key))

    timeline = list(Event.objects.order_by("-timestamp").values_list("name", "timestamp"))
    assert timeline == [("Recent", NOW), ("Old", NOW - timedelta(days=5))]


# --- refused input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field", "reason"),
    [
        ("track", {"event": "E"}, "userId", "userId or anonymousId is required"),
        ("track", {"userId": "", "anonymousId": None, "event": "E"}, "userId", "required"),
        ("track", {"userId": {"id": 1}, "event": "E"}, "userId", "must be a string or a number"),
        ("track", {"userId": True, "event": "E"}, "userId", "must be a string or a number"),
        ("track", {"userId": "x" * 256, "event": "E"}, "userId", "longer than 255"),
        ("track", {"userId": "u"}, "event", "required"),
        ("track", {"userId": "u", "event": ""}, "event", "required"),
        ("track", {"userId": "u", "event": 12}, "event", "required"),
        ("track", {"userId": "u", "event": "e" * 201}, "event", "longer than 200"),
        ("track", {"userId": "u", "event": "E", "properties": [1]}, "properties", "JSON object"),
        ("track", {"userId": "u", "event": "E", "context": "web"}, "context", "JSON object"),
        (
            "track",
            {"userId": "u", "event": "E", "context": {"traits": 3}},
            "context.traits",
            "object",
        ),
        (
            "track",
            {"userId": "u", "event": "E", "messageId": "m" * 101},
            "messageId",
            "longer than 100",
        ),
        ("track", {"userId": "u", "event": "E", "timestamp": "yesterday"}, "timestamp", "ISO-8601"),
        ("track", {"userId": "u", "event": "E", "timestamp": 1700000000}, "timestamp", "ISO-8601"),
        ("track", {"userId": "u", "event": "E", "sentAt": "2026-13-01"}, "sentAt", "ISO-8601"),
        ("identify", {"userId": "u", "traits": "vip"}, "traits", "JSON object"),
        ("page", {"userId": "u", "name": ["Home"]}, "name", "must be a string"),
        ("group", {"userId": "u"}, "groupId", "required"),
        ("alias", {"userId": "u"}, "previousId", "required"),
        ("alias", {"anonymousId": "a", "previousId": "p"}, "userId", "required for alias"),
    ],
)
def test_an_invalid_event_is_refused_naming_the_field(ingest, workspace, path, body, field, reason):
    response = ingest(path, body, key=workspace.write_key)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [entry["field"] for entry in errors] == [field]
    assert reason in errors[0]["reason"]
    assert field in response.json()["error"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"userId": "u", "event": "E"', "not valid JSON"),
        (b"", "empty"),
        (b'{"userId": "u", "event": "E", "properties": {"x": NaN}}', "not valid JSON"),
        (b'{"userId": "u", "event": "E", "properties": {"x": 1e400}}', "out of range"),
        (b'{"userId": "\xff\xfe", "event": "E"}', "UTF-8"),
        (b'["not", "an", "object"]', "must be a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(ingest, workspace, raw, reason):
    response = ingest("track", raw, key=workspace.write_key)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"
    assert reason in response.json()["errors"][0]["reason"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (
            rb'{"userId": "u", "event": "E", "properties": {"note": "a\u0000b"}}',
            "properties.note",
            "NUL",
        ),
        (rb'{"userId": "u\u0000", "event": "E"}', "userId", "NUL"),
        (rb'{"userId": "u", "traits": {"name": "\ud800x"}}', "traits.name", "surrogate"),
        (rb'{"userId": "u", "traits": {"tags": ["ok", "\udc00"]}}', "traits.tags[1]", "surrogate"),
        (rb'{"userId": "u", "traits": {"k\u0000": 1}}', "traits", "a key contains a NUL"),
    ],
)
def test_text_postgresql_cannot_store_is_refused_naming_the_field(
    ingest, workspace, raw, field, reason
):
    path = "track" if b'"event"' in raw else "identify"
    response = ingest(path, raw, key=workspace.write_key)

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [entry["field"] for entry in errors] == [field]
    assert reason in errors[0]["reason"]
    assert Event.objects.count() == 0


def test_escaped_emoji_and_escaped_backslashes_are_stored(ingest, workspace):
    # json.dumps escapes astral characters as surrogate pairs: those are valid.
    raw = rb'{"userId": "u", "traits": {"mood": "\ud83d\ude00", "path": "C:\\u0000"}}'
    ok(ingest("identify", raw, key=workspace.write_key))
    assert Event.objects.get().traits == {"mood": "\U0001f600", "path": "C:\\u0000"}


def test_only_post_is_allowed(client, workspace):
    response = client.get("/v1/track", HTTP_AUTHORIZATION=basic_auth(workspace.write_key))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["errors"][0]["field"] == "method"


# --- batches: all or nothing -----------------------------------------------------


def test_a_batch_with_invalid_events_is_refused_whole_and_a_fixed_resend_stores_it_once(
    ingest, workspace
):
    items = [
        {"type": "track", "event": "Viewed", "messageId": "b-0"},  # no ids
        {"type": "track", "userId": "u1", "event": "Viewed", "messageId": "b-1"},
        {"type": "track", "userId": "u1", "messageId": "b-2"},  # no event name
    ]
    response = ingest("batch", {"batch": items}, key=workspace.write_key)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(entry["index"], entry["field"]) for entry in errors] == [
        (0, "batch[0].userId"),
        (2, "batch[2].event"),
    ]
    assert "2 invalid event(s)" in response.json()["error"]
    assert Event.objects.count() == 0

    items[0]["userId"] = "u0"
    items[2]["event"] = "Viewed"
    ok(ingest("batch", {"batch": items}, key=workspace.write_key))
    assert Event.objects.count() == 3
    ok(ingest("batch", {"batch": items}, key=workspace.write_key))
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["b-0", "b-1", "b-2"]


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({}, "batch", "required"),
        ({"batch": {"type": "track"}}, "batch", "JSON array"),
        ({"batch": ["track"]}, "batch[0]", "JSON object"),
        ({"batch": [{"userId": "u", "event": "E"}]}, "batch[0].type", "must be one of"),
        ({"batch": [{"type": "purchase", "userId": "u"}]}, "batch[0].type", "must be one of"),
        ({"batch": [], "context": []}, "context", "JSON object"),
    ],
)
def test_a_malformed_batch_is_refused_naming_the_field(ingest, workspace, body, field, reason):
    response = ingest("batch", body, key=workspace.write_key)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [entry["field"] for entry in errors] == [field]
    assert reason in errors[0]["reason"]


def test_unstorable_text_in_a_batch_names_the_event(ingest, workspace):
    raw = (
        rb'{"batch": [{"type": "track", "userId": "u", "event": "E"},'
        rb' {"type": "track", "userId": "u", "event": "E", "properties": {"a": "\u0000"}}]}'
    )
    response = ingest("batch", raw, key=workspace.write_key)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "index": 1,
            "field": "batch[1].properties.a",
            "reason": response.json()["errors"][0]["reason"],
        }
    ]
    assert Event.objects.count() == 0


# --- deduplication ---------------------------------------------------------------


def test_the_same_message_id_is_stored_once_and_acknowledged_every_time(ingest, workspace):
    first = {"userId": "u", "event": "Paid", "messageId": "dup", "properties": {"n": 1}}
    second = {**first, "properties": {"n": 2}}
    ok(ingest("track", first, key=workspace.write_key))
    ok(ingest("track", second, key=workspace.write_key))
    ok(ingest("batch", {"batch": [{**second, "type": "track"}]}, key=workspace.write_key))

    assert [event.properties for event in Event.objects.all()] == [{"n": 1}]


def test_duplicates_inside_one_batch_are_stored_once(ingest, workspace):
    items = [
        {"type": "track", "userId": "u", "event": "E", "messageId": "same", "properties": {"n": n}}
        for n in range(3)
    ]
    ok(ingest("batch", {"batch": items}, key=workspace.write_key))
    assert [event.properties for event in Event.objects.all()] == [{"n": 0}]


def test_the_same_message_id_in_two_workspaces_is_stored_in_each(
    ingest, workspace, other_workspace
):
    body = {"userId": "u", "event": "E", "messageId": "shared"}
    ok(ingest("track", body, key=workspace.write_key))
    ok(ingest("track", body, key=other_workspace.write_key))

    assert sorted(Event.objects.values_list("workspace__name", flat=True)) == ["acme", "globex"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_resends_store_one_row(make_workspace):
    keys = make_workspace("acme").write_key
    body = json.dumps({"userId": "u", "event": "E", "messageId": "race"})
    statuses = []
    start = threading.Barrier(8)

    def send():
        try:
            start.wait()
            response = Client().post(
                "/v1/track",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=basic_auth(keys),
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 8
    assert Event.objects.filter(message_id="race").count() == 1
