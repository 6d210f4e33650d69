"""200 means durable: a crash of the server loses no acknowledged event.

gunicorn (a master and two workers) serves ingestion while two clients send
batches as an SDK does, sending a batch again, same messageIds, until it is
acknowledged. The whole server is SIGKILLed twice while requests are in
flight, as an OOM kill or a pulled plug would, and started again on the same
port. Every event answered with 200 must be stored, once; a batch that was
stored but whose answer was lost in the crash is sent again and must not be
stored twice.
"""

from collections import Counter

import pytest

from engage.events.models import Event
from tests.live_processes import (
    EventLoad,
    free_port,
    kill,
    process_env,
    start_gunicorn,
    stop,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

CRASHES = 2
EVENTS_BETWEEN_CRASHES = 100


def test_every_event_acknowledged_before_a_server_crash_is_stored_exactly_once(workspace, tmp_path):
    env = process_env()
    port = free_port()
    server = start_gunicorn(env, tmp_path, port=port)
    try:
        with EventLoad(f"http://127.0.0.1:{port}", workspace.write_key) as load:
            for _ in range(CRASHES):
                load.wait_for_acks(len(load.acked) + EVENTS_BETWEEN_CRASHES)
                load.wait_in_flight()
                kill(server)
                server = start_gunicorn(env, tmp_path, port=port)
            load.wait_for_acks(len(load.acked) + EVENTS_BETWEEN_CRASHES)
    finally:
        stop(server)

    unanswered = [a.body for a in load.answers if a.status is None]
    # The crashes cut requests off mid-way, not only refused new connections.
    assert {"RemoteProtocolError", "ReadError"} & set(unanswered), Counter(unanswered)
    assert {a.status for a in load.answers} == {200, None}

    stored = Counter(
        Event.objects.filter(workspace=workspace.workspace).values_list("message_id", flat=True)
    )
    assert set(load.acked) <= set(stored), "acknowledged events were lost"
    assert max(stored.values()) == 1
    # Every batch was finally acknowledged, and nothing else was stored.
    assert sorted(load.acked) == sorted(load.sent) == sorted(stored)
