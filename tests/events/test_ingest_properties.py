"""Properties of /v1 for any body: no 5xx, and what is accepted can be read and processed.

Hypothesis draws Segment-like bodies with random values where clients send
ids, names, types and times (ISO strings for years 1-9999 with offsets up to
±23:59, including the edges of the stored range), random nested JSON in
traits, properties and context (sometimes nested past the depth limit, with
NUL characters and lone surrogates), and posts them through Django's test
client. For every answer: never a 5xx; a 200 stores events that load back
whole and process without a "processing failed" warning; a 4xx stores
nothing and names a field.
"""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as record
from hypothesis import strategies as st

from engage.events.models import Event
from engage.events.processing import process_pending

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
TYPES = ["identify", "track", "page", "screen", "group", "alias"]

# Text as clients send it, and text with what PostgreSQL cannot store.
clean_text = st.text(max_size=12)
risky_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"), st.sampled_from(["\x00", "\ud800", "\udfff", "\U0001f600"])
    ),
    max_size=12,
)
text = st.one_of(clean_text, risky_text)


def json_values(keys):
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**300), max_value=10**300),
        st.floats(allow_nan=False, allow_infinity=False),
        keys,
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)
        ),
        max_leaves=8,
    )


clean_json = json_values(clean_text)
any_json = json_values(text)


@st.composite
def deep(draw):
    """An object holding a value nested around the depth limit (64 levels from the body)."""
    value = draw(clean_text)
    for _ in range(draw(st.integers(min_value=55, max_value=70))):
        value = [value] if draw(st.booleans()) else {"k": value}
    return {"x": value}


@st.composite
def iso_times(draw, min_year=1, max_year=9999):
    moment = draw(
        st.datetimes(
            min_value=datetime(min_year, 1, 1), max_value=datetime(max_year, 12, 31, 23, 59, 59)
        )
    )
    minutes = draw(st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59))
    sign = "-" if minutes < 0 else "+"
    offset = draw(
        st.sampled_from(["", "Z", f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"])
    )
    return moment.isoformat() + offset


edge_times = st.sampled_from(
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00-23:59",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59+23:59",
        "1970-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2199-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
    ]
)
# Most of the years 1-9999 are refused: draw from around the stored range too.
good_times = st.one_of(
    st.none(), iso_times(1960, 2210), iso_times(1960, 2210), st.one_of(iso_times(), edge_times)
)
good_ids = st.one_of(
    clean_text,
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(allow_nan=False, allow_infinity=False),
)
good_objects = st.one_of(st.none(), st.dictionaries(clean_text, clean_json, max_size=4), deep())
GOOD = {
    "userId": good_ids,
    "anonymousId": good_ids,
    "messageId": good_ids,
    "timestamp": good_times,
    "originalTimestamp": good_times,
    "sentAt": good_times,
    "traits": good_objects,
    "properties": good_objects,
    "context": good_objects,
}

times = st.one_of(good_times, text, st.integers(), any_json)
ids = st.one_of(good_ids, text, st.text(max_size=300), any_json)
objects = st.one_of(good_objects, st.dictionaries(text, any_json, max_size=4), any_json)
ANY = {
    "userId": ids,
    "anonymousId": ids,
    "messageId": ids,
    "groupId": ids,
    "previousId": ids,
    "event": st.one_of(text, ids),
    "name": st.one_of(text, ids),
    "type": st.one_of(st.sampled_from(TYPES), text),
    "timestamp": times,
    "originalTimestamp": times,
    "sentAt": times,
    "traits": objects,
    "properties": objects,
    "context": objects,
}


@st.composite
def messages(draw, plausible: bool):
    """A plausible message (valid unless a drawn value is not), or anything."""
    if not plausible:
        chosen = draw(st.lists(st.sampled_from(sorted(ANY)), unique=True))
        return {field: draw(ANY[field]) for field in chosen}
    message = {
        "type": draw(st.sampled_from(TYPES)),
        "userId": "u-1",
        "event": draw(clean_text.filter(bool)),
        "groupId": "g-1",
        "previousId": "p-1",
    }
    for field in draw(st.lists(st.sampled_from(sorted(GOOD)), unique=True, max_size=3)):
        message[field] = draw(GOOD[field])
    return message


@st.composite
def requests(draw):
    path = draw(st.sampled_from([*TYPES, "batch"]))
    plausible = draw(st.booleans())
    if path != "batch":
        return path, draw(messages(plausible))
    body = {"batch": draw(st.lists(messages(plausible), max_size=3))}
    if draw(st.booleans()):
        body["sentAt"] = draw(good_times if plausible else times)
    if draw(st.booleans()):
        body["context"] = draw(good_objects if plausible else objects)
    return path, body


def read_every_field(event: Event) -> None:
    for field in Event._meta.concrete_fields:
        value = getattr(event, field.attname)
        if field.get_internal_type() == "JSONField":
            json.dumps(value)


@pytest.fixture
def ingest_many(ingest, workspace, settings):
    settings.ENGAGE_DEFAULT_RATE_LIMIT = 1_000_000  # hypothesis posts fast
    return lambda path, body: ingest(path, json.dumps(body).encode(), key=workspace.write_key)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(call=requests())
def test_any_body_gets_a_4xx_storing_nothing_or_a_200_storing_readable_processable_events(
    ingest_many, call
):
    path, body = call
    last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0

    response = ingest_many(path, body)

    assert response.status_code < 500, response.content
    record(f"{path}: {response.status_code}")
    new = Event.objects.filter(id__gt=last)
    if response.status_code != 200:
        assert not new.exists()
        errors = response.json()["errors"]
        assert errors
        assert all(type(entry["field"]) is str and entry["field"] for entry in errors)
        return
    for pk in new.values_list("id", flat=True):
        read_every_field(Event.objects.get(pk=pk))
    process_pending()
    for event in new:
        read_every_field(event)
        assert event.processed_at is not None
        assert not [w for w in event.warnings if w.startswith("processing failed")], event.warnings
        for moment in (event.timestamp, event.original_timestamp, event.sent_at):
            assert moment is None or EARLIEST <= moment < LATEST
