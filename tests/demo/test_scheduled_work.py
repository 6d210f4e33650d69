"""The demo server runs beat's periodic tasks itself: there is no broker, so no beat.

A message deferred by 5 seconds must go out with nobody running a command, as
it would with a worker and beat in production.
"""

import os
import sqlite3
import sys
import time

import pytest

from tests.live_processes import (
    free_port,
    run_embedded,
    start,
    stop,
    wait_for_http,
    wait_for_line,
)

pytestmark = pytest.mark.slow

DEFER_MESSAGE = """
import datetime
from django.utils import timezone
from engage.messaging.models import Message
from engage.plugins.models import PluginConfig
from engage.profiles.models import Identity
from engage.workspaces.models import Workspace
workspace = Workspace.objects.get(name="demo")
PluginConfig.objects.get_or_create(workspace=workspace, plugin_id="inapp")
profile = Identity.objects.get(workspace=workspace, kind="user_id", value="cust-1001").profile
message = Message.objects.create(
    workspace=workspace, profile=profile, channel="inapp", category="transactional",
    body="Your order shipped", idempotency_key="deferred-5s", status="deferred",
    next_attempt_at=timezone.now() + datetime.timedelta(seconds=5),
)
print(message.pk)
"""


def message_status(db, pk: int) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status FROM messaging_message WHERE id = ?", [pk]).fetchone()[0]


def embedded_env(db) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        ENGAGE_SWEEP_SECONDS="1",
    )
    return env


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    # One demo for the module: the demo plays its journey, which takes seconds.
    db = tmp_path_factory.mktemp("scheduled") / "engage.sqlite3"
    # The demo refuses a port in use: give it a free one.
    for args in (["migrate", "--no-input", "-v0"], ["demo", "--port", str(free_port())]):
        result = run_embedded(["manage.py", *args], db, DEBUG="1")
        assert result.returncode == 0, result.stderr
    return db


def test_a_message_deferred_by_5_seconds_is_sent_by_the_demo_server_alone(demo_db, tmp_path):
    port = free_port()
    log = tmp_path / "demoserver.log"
    server = start(
        [sys.executable, "manage.py", "demoserver", "--noreload", f"127.0.0.1:{port}"],
        embedded_env(demo_db),
        log,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", server, log)
        result = run_embedded(["manage.py", "shell", "-c", DEFER_MESSAGE], demo_db)
        assert result.returncode == 0, result.stderr
        pk = int(result.stdout.split()[-1])
        assert message_status(demo_db, pk) == "deferred"

        deadline = time.monotonic() + 15
        while message_status(demo_db, pk) != "sent" and time.monotonic() < deadline:
            time.sleep(0.25)
        assert message_status(demo_db, pk) == "sent", log.read_text()
        with sqlite3.connect(demo_db) as conn:
            inbox = conn.execute(
                "SELECT COUNT(*) FROM inbox_inboxentry WHERE message_id = ?", [pk]
            ).fetchone()[0]
        assert inbox == 1
    finally:
        stop(server)


def test_with_the_autoreloader_the_periodic_tasks_run_in_one_process_only(demo_db, tmp_path):
    """The reloader's parent runs no periodic task: two loops would send twice as often."""
    log = tmp_path / "demoserver.log"
    server = start(
        [sys.executable, "manage.py", "demoserver", f"127.0.0.1:{free_port()}"],
        embedded_env(demo_db),
        log,
    )
    try:
        wait_for_line("Quit the server with", server, log)
        assert log.read_text().count("periodic tasks in-process") == 1, log.read_text()
    finally:
        stop(server)
