"""A broker outage never fails an API request that committed, and loses none of its work.

engage runs as in production: gunicorn with ``CELERY_BROKER_URL`` set, a
Celery worker, a Redis broker this test starts late, and a loopback SMTP
server. While the broker is down, ``POST /api/messages/send`` and ``POST
/api/segments`` answer success at once, so a client has no reason to retry
(a retried send without an idempotency key would go out twice). Once the
broker is back the message is sent exactly once and the segment is filled:
by the sweeps when the process that took the request is gone, by that
process's own retried publish when it is still there.
"""

import time

import httpx
import pytest

from engage.messaging.models import Message
from engage.segments.models import Segment
from tests.live_processes import (
    celery_worker,
    free_port,
    gunicorn,
    process_env,
    redis_server,
    redis_server_binary,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

MAX_REQUEST_SECONDS = 2.0
RECOVERY_TIMEOUT = 40.0
ADAS = {"trait": {"key": "first_name", "op": "equals", "value": "Ada"}}


def outage_env(broker_port: int) -> dict[str, str]:
    return process_env(
        CELERY_BROKER_URL=f"redis://127.0.0.1:{broker_port}/0",
        ENGAGE_SWEEP_SECONDS="1",
        # The loopback SMTP server stands in for the provider.
        ENGAGE_OUTBOUND_ALLOWED_NETWORKS="127.0.0.0/8",
    )


def timed_post(url: str, path: str, key: str, body: dict) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(
        url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    return response, time.monotonic() - started


def request_during_outage(url: str, key: str, customer) -> tuple[int, int]:
    """Send a message and create a segment; both succeed at once. Returns their ids."""
    sent, seconds = timed_post(
        url,
        "/api/messages/send",
        key,
        {
            "profile_id": customer.pk,
            "channel": "email",
            "category": "transactional",
            "subject": "Your receipt",
            "body": "Thanks, {{ profile.first_name }}",
        },
    )
    assert sent.status_code in (201, 202), sent.text
    assert seconds < MAX_REQUEST_SECONDS, f"the send took {seconds:.2f}s"
    created, seconds = timed_post(url, "/api/segments", key, {"name": "Adas", "rules": ADAS})
    assert created.status_code == 201, created.text
    assert seconds < MAX_REQUEST_SECONDS, f"the segment took {seconds:.2f}s"

    message_id, segment_id = sent.json()["id"], created.json()["id"]
    assert Message.objects.get(pk=message_id).status == Message.QUEUED
    assert Segment.objects.get(pk=segment_id).refreshed_at is None
    return message_id, segment_id


def wait_until_done(smtp_server, message_id: int, segment_id: int) -> None:
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while time.monotonic() < deadline:
        segment = Segment.objects.get(pk=segment_id)
        if smtp_server.messages and segment.refreshed_at is not None:
            return
        time.sleep(0.2)
    message = Message.objects.get(pk=message_id)
    raise AssertionError(
        f"after {RECOVERY_TIMEOUT}s: {len(smtp_server.messages)} mails, message {message.status},"
        f" segment refreshed at {Segment.objects.get(pk=segment_id).refreshed_at}"
    )


def assert_done_once(smtp_server, message_id: int, segment_id: int, customer) -> None:
    [mail] = smtp_server.messages
    assert mail["to"] == ["ada@example.com"]
    assert mail["mail"]["Subject"] == "Your receipt"
    assert Message.objects.get(pk=message_id).status == Message.SENT
    segment = Segment.objects.get(pk=segment_id)
    assert segment.member_count == 1
    assert list(segment.memberships.values_list("profile_id", flat=True)) == [customer.pk]


def test_the_sweeps_do_the_work_of_requests_whose_process_is_gone(
    workspace, email_channel, customer, smtp_server, tmp_path
):
    redis_server_binary()  # fail early, and clearly, without redis-server
    broker_port = free_port()  # nothing listens there yet: the broker is down
    env = outage_env(broker_port)
    with gunicorn(env, tmp_path) as url:
        message_id, segment_id = request_during_outage(url, workspace.secret_key, customer)
    # gunicorn is stopped: its publishes are lost; only the beat's sweeps remain.

    with redis_server(broker_port, tmp_path), celery_worker(env, tmp_path, beat=True):
        wait_until_done(smtp_server, message_id, segment_id)
        time.sleep(3)  # a few more sweeps: nothing is done twice

    assert_done_once(smtp_server, message_id, segment_id, customer)


def test_a_server_still_running_publishes_its_work_once_the_broker_is_back(
    workspace, email_channel, customer, smtp_server, tmp_path
):
    """No beat here: only the publishes gunicorn kept during the outage can do the work."""
    broker_port = free_port()
    env = outage_env(broker_port)
    with gunicorn(env, tmp_path) as url:
        message_id, segment_id = request_during_outage(url, workspace.secret_key, customer)
        with redis_server(broker_port, tmp_path), celery_worker(env, tmp_path):
            wait_until_done(smtp_server, message_id, segment_id)
            time.sleep(3)

    assert_done_once(smtp_server, message_id, segment_id, customer)
