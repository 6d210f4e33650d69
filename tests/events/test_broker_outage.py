"""A broker outage delays processing and loses nothing.

engage runs as in production: gunicorn serving ingestion with
``CELERY_BROKER_URL`` set, a Celery worker with its beat, a Redis broker that
this test starts and stops itself. While the broker is down, ingestion still
answers 200 at once and the events are committed, unprocessed; once the
broker and a worker are up, the periodic sweep processes every one of them.
With the broker up, each ingestion request gets its events processed at once.
"""

import time
from datetime import timedelta

import httpx
import pytest

from engage.events.models import Event
from engage.profiles.models import Identity, Profile
from tests.identity_helpers import T0, identities, profile_of
from tests.live_processes import (
    celery_worker,
    free_port,
    gunicorn,
    kill,
    process_env,
    redis_server,
    redis_server_binary,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

# An ingestion request never waits for the broker: connecting to a closed
# loopback port fails at once, and later requests do not even try for a while.
MAX_REQUEST_SECONDS = 1.0
PROCESSING_TIMEOUT = 30.0
BACKLOG = 200
BATCH = 10


def post(url, path, body, write_key):
    started = time.monotonic()
    response = httpx.post(f"{url}/v1/{path}", json=body, auth=(write_key, ""), timeout=10)
    return response, time.monotonic() - started


def wait_until_processed(workspace, expected: int) -> float:
    started = time.monotonic()
    while time.monotonic() - started < PROCESSING_TIMEOUT:
        if (
            Event.objects.filter(workspace=workspace, processed_at__isnull=False).count()
            == expected
        ):
            return time.monotonic() - started
        time.sleep(0.1)
    pending = Event.objects.filter(workspace=workspace, processed_at__isnull=True).count()
    raise AssertionError(f"{pending} of {expected} events still unprocessed")


def test_events_accepted_while_the_broker_is_down_are_processed_once_it_is_back(
    workspace, tmp_path
):
    redis_server_binary()  # fail early, and clearly, without redis-server
    ws = workspace.workspace
    broker_port = free_port()  # nothing listens there yet: the broker is down
    env = process_env(
        CELERY_BROKER_URL=f"redis://127.0.0.1:{broker_port}/0", ENGAGE_SWEEP_SECONDS="1"
    )
    batches = [
        {
            "batch": [
                {"type": "identify", "userId": f"u-{n}", "anonymousId": f"a-{n}"},
                *(
                    {"type": "track", "anonymousId": f"a-{n}", "event": "Viewed", "messageId": m}
                    for m in (f"b{n}-{i}" for i in range(20))
                ),
            ]
        }
        for n in range(5)
    ]
    singles = [
        ("track", {"userId": f"u-{n}", "event": "Ordered", "properties": {"n": n}})
        for n in range(5)
    ]
    total = sum(len(b["batch"]) for b in batches) + len(singles)

    with gunicorn(env, tmp_path) as url:
        requests_made = [("batch", body) for body in batches] + singles
        for path, body in requests_made:
            response, seconds = post(url, path, body, workspace.write_key)
            assert response.status_code == 200, response.text
            assert seconds < MAX_REQUEST_SECONDS, f"/v1/{path} took {seconds:.2f}s"

        # Acknowledged means committed, and nothing could process them.
        assert Event.objects.filter(workspace=ws).count() == total
        assert not Event.objects.filter(workspace=ws, processed_at__isnull=False).exists()

        with redis_server(broker_port, tmp_path), celery_worker(env, tmp_path, beat=True):
            wait_until_processed(ws, total)

    for n in range(5):
        profile = profile_of(ws, Identity.USER_ID, f"u-{n}")
        assert identities(profile) == {("user_id", f"u-{n}"), ("anonymous_id", f"a-{n}")}
        assert Event.objects.filter(profile=profile).count() == 22


def test_with_the_broker_up_ingestion_asks_a_worker_to_process_at_once(workspace, tmp_path):
    """No beat here: only the requests published after each commit can get the events processed."""
    ws = workspace.workspace
    broker_port = free_port()
    env = process_env(CELERY_BROKER_URL=f"redis://127.0.0.1:{broker_port}/0")
    with (
        redis_server(broker_port, tmp_path),
        celery_worker(env, tmp_path),
        gunicorn(env, tmp_path) as url,
    ):
        for n in range(3):
            response, seconds = post(
                url,
                "identify",
                {"userId": f"u-{n}", "anonymousId": f"a-{n}", "traits": {"email": f"{n}@ex.com"}},
                workspace.write_key,
            )
            assert response.status_code == 200, response.text
            assert seconds < MAX_REQUEST_SECONDS
        wait_until_processed(ws, 3)

    for n in range(3):
        assert identities(profile_of(ws, Identity.EMAIL, f"{n}@ex.com")) == {
            ("user_id", f"u-{n}"),
            ("anonymous_id", f"a-{n}"),
            ("email", f"{n}@ex.com"),
        }


def test_a_worker_killed_mid_backlog_loses_nothing(workspace, tmp_path):
    """SIGKILL mid-batch: the batch rolls back, and the next worker's sweep redoes it."""
    ws = workspace.workspace
    visitors = 50
    Event.objects.bulk_create(
        Event(
            workspace=ws,
            message_id=f"m-{n}",
            type="track",
            name="Viewed",
            anonymous_id=f"a-{n % visitors}",
            timestamp=T0 + timedelta(seconds=n),
            received_at=T0 + timedelta(seconds=n),
        )
        for n in range(BACKLOG)
    )
    broker_port = free_port()
    env = process_env(
        CELERY_BROKER_URL=f"redis://127.0.0.1:{broker_port}/0",
        ENGAGE_SWEEP_SECONDS="1",
        ENGAGE_PROCESSING_BATCH=str(BATCH),
    )
    processed = Event.objects.filter(workspace=ws, processed_at__isnull=False)
    with redis_server(broker_port, tmp_path):
        with celery_worker(env, tmp_path, beat=True) as worker:
            deadline = time.monotonic() + PROCESSING_TIMEOUT
            while not processed.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            kill(worker)
        done = processed.count()
        assert 0 < done < BACKLOG, "the worker was not stopped in the middle of the backlog"
        # Only whole batches were committed: the one in flight rolled back.
        assert done % BATCH == 0

        with celery_worker(env, tmp_path, beat=True):
            wait_until_processed(ws, BACKLOG)

    assert Profile.objects.filter(workspace=ws).count() == visitors
    for profile in Profile.objects.filter(workspace=ws)[:20]:
        [anonymous_id] = profile.identities.values_list("value", flat=True)
        events = Event.objects.filter(profile=profile)
        assert set(events.values_list("anonymous_id", flat=True)) == {anonymous_id}
        assert events.count() == BACKLOG // visitors
