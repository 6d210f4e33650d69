"""Deduplication on every storage path: a few events, a batch, and a resent batch.

A batch is copied straight into the events table and falls back to a staging
table when a messageId is stored already; a few events go in one INSERT. Each
path must store a resent event once and keep the first copy.
"""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from engage.events.ingestion.storage import VALUES_MAX_ROWS
from engage.events.models import Event

from .conftest import basic_auth


def track(n: int, version: int = 1) -> dict:
    return {
        "type": "track",
        "userId": f"u{n}",
        "event": "Order Completed",
        "messageId": f"m-{n}",
        "properties": {"version": version},
    }


def stored() -> dict[str, dict]:
    return dict(Event.objects.values_list("message_id", "properties"))


@pytest.mark.parametrize("size", [3, VALUES_MAX_ROWS, VALUES_MAX_ROWS + 1, 100])
def test_a_resent_batch_stores_only_its_new_events_and_keeps_the_first_copies(
    ingest, workspace, size
):
    first = [track(n) for n in range(size)]
    assert ingest("batch", {"batch": first}, key=workspace.write_key).status_code == 200

    # Resent with a changed payload, plus two events that are new.
    resent = [track(n, version=2) for n in range(size + 2)]
    response = ingest("batch", {"batch": resent}, key=workspace.write_key)

    assert response.status_code == 200, response.content
    expected = {f"m-{n}": {"version": 1} for n in range(size)}
    expected |= {f"m-{size}": {"version": 2}, f"m-{size + 1}": {"version": 2}}
    assert stored() == expected


def test_a_batch_whose_every_event_is_stored_already_stores_nothing(ingest, workspace):
    batch = {"batch": [track(n) for n in range(50)]}
    ingest("batch", batch, key=workspace.write_key)
    response = ingest("batch", batch, key=workspace.write_key)

    assert response.status_code == 200
    assert Event.objects.count() == 50


def test_a_large_batch_keeps_every_column(ingest, workspace):
    events = [
        {
            **track(n),
            "anonymousId": f"a{n}",
            "context": {"channel": "web", "traits": {"email": f"u{n}@example.com"}},
            "timestamp": "2026-01-10T12:00:00Z",
        }
        for n in range(VALUES_MAX_ROWS + 5)
    ]
    ingest("batch", {"batch": events}, key=workspace.write_key)

    event = Event.objects.get(message_id="m-3")
    assert (event.user_id, event.anonymous_id, event.name, event.channel) == (
        "u3",
        "a3",
        "Order Completed",
        "web",
    )
    assert event.context["traits"] == {"email": "u3@example.com"}
    assert event.timestamp.isoformat() == "2026-01-10T12:00:00+00:00"
    assert event.warnings == []
    assert event.processed_at is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_resends_of_a_large_batch_store_each_event_once(make_workspace):
    key = make_workspace("acme").write_key
    body = json.dumps({"batch": [track(n) for n in range(60)]})
    statuses = []
    start = threading.Barrier(4)

    def send():
        try:
            start.wait()
            response = Client().post(
                "/v1/batch",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=basic_auth(key),
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 4
    assert Event.objects.count() == 60
