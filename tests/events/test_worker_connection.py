"""A Celery worker keeps its PostgreSQL connection from task to task, and replaces a dead one.

Celery closes Django's connections around every task unless told otherwise;
engage keeps them as Django does across requests (``config/celery.py``).
"""

import time

import httpx
import pytest
from django.db import connection

from engage.events.models import Event
from tests.live_processes import celery_worker, free_port, gunicorn, process_env, redis_server

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

WORKER = "engage-test-worker"
TIMEOUT = 20.0


def worker_backends() -> set[tuple[int, str]]:
    """The worker's PostgreSQL backends now: (pid, start time)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start::text FROM pg_stat_activity WHERE application_name = %s",
            [WORKER],
        )
        return set(cursor.fetchall())


def send_and_wait(url: str, write_key: str, n: int) -> None:
    response = httpx.post(
        f"{url}/v1/track",
        json={"userId": f"u-{n}", "event": "Viewed", "messageId": f"m-{n}"},
        auth=(write_key, ""),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if Event.objects.filter(message_id=f"m-{n}", processed_at__isnull=False).exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"event m-{n} was not processed within {TIMEOUT:.0f} s")


def test_a_worker_processes_request_after_request_on_one_backend_and_survives_losing_it(
    workspace, tmp_path
):
    broker_port = free_port()
    env = process_env(CELERY_BROKER_URL=f"redis://127.0.0.1:{broker_port}/0")
    worker_env = {**env, "PGAPPNAME": WORKER}  # libpq names the worker's sessions
    with (
        redis_server(broker_port, tmp_path),
        celery_worker(worker_env, tmp_path),
        gunicorn(env, tmp_path) as url,
    ):
        seen = []
        for n in range(3):
            send_and_wait(url, workspace.write_key, n)
            seen.append(worker_backends())
        # One processing task per request, all on the same backend.
        assert len(seen[0]) == 1
        assert seen == [seen[0]] * 3

        # PostgreSQL ends the session (a restart, an idle timeout, an operator):
        # the next task notices before using it and connects again, instead of
        # failing its first batch on the dead connection.
        [(pid, _)] = seen[0]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        send_and_wait(url, workspace.write_key, 3)
        [(new_pid, _)] = worker_backends()
        assert new_pid != pid
    log = (tmp_path / "celery-worker.log").read_text()
    assert "batch failed" not in log
    assert "Traceback" not in log
