"""A worker killed mid-send never causes a blind second send.

A real process runs the send and is killed with SIGKILL while the loopback
SMTP server holds the DATA answer, like a provider that is slow to reply.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from engage.messaging import sending
from engage.messaging.models import Message, MessageDecision
from tests.live_processes import (
    celery_worker,
    free_port,
    kill,
    process_env,
    redis_server,
    redis_server_binary,
)

from .helpers import queue_email

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_leaves_the_message_unknown_and_never_resends(
    workspace, email_channel, customer, smtp_server
):
    smtp_server.hold = True
    message = queue_email(workspace.workspace, customer, key="receipt-7")
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from engage.messaging.sending import send_message; send_message({message.pk})",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert smtp_server.data_started.wait(30), worker.stderr.read1().decode()
        message.refresh_from_db()
        assert message.status == Message.SENDING, "sending is committed before the call"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        worker.kill()
        worker.wait()
    # The provider got the DATA before the worker died: it may deliver it.
    smtp_server.release.set()

    # Too early: the worker could still be alive and about to record the result.
    assert sending.recover_stuck() == 0
    later = timezone.now() + sending.sending_timeout() + dt.timedelta(seconds=1)
    assert sending.recover_stuck(now=later) == 1

    message.refresh_from_db()
    assert message.status == Message.UNKNOWN
    hold = MessageDecision.objects.get(message=message)
    assert (hold.action, hold.reason) == ("hold", "worker_lost")
    # Neither the sweep, nor a retry of the task, nor the same request again sends it.
    assert sending.due_message_ids(now=later) == []
    assert sending.send_message(message.pk, now=later) is None
    again = queue_email(workspace.workspace, customer, key="receipt-7")
    assert again.pk == message.pk
    assert sending.send_message(again.pk, now=later) is None
    assert len(smtp_server.messages) <= 1
    assert Message.objects.get(pk=message.pk).attempts == 1


@pytest.mark.django_db
def test_a_stuck_message_of_an_idempotent_channel_is_queued_again(
    monkeypatch, workspace, email_channel, customer
):
    from plugins.email import Email

    monkeypatch.setattr(Email, "idempotent", True)
    message = queue_email(workspace.workspace, customer)
    Message.objects.filter(pk=message.pk).update(
        status=Message.SENDING, sending_at=timezone.now() - dt.timedelta(hours=1)
    )

    assert sending.recover_stuck() == 1

    message.refresh_from_db()
    assert message.status == Message.QUEUED
    assert MessageDecision.objects.get(message=message).action == "retry"


def wait_for_status(message, status: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.status == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"message still {message.status}, not {status}")


@pytest.mark.slow
@pytest.mark.usefixtures("transactional_db")
def test_a_celery_worker_killed_mid_send_is_recovered_by_the_sweep_without_a_resend(
    workspace, email_channel, customer, smtp_server, tmp_path
):
    redis_server_binary()
    smtp_server.hold = True
    message = queue_email(workspace.workspace, customer, key="invoice-9")
    with redis_server(free_port(), tmp_path) as broker:
        env = process_env(
            CELERY_BROKER_URL=broker,
            ENGAGE_SWEEP_SECONDS="0.5",
            ENGAGE_SENDING_TIMEOUT_SECONDS="1",
        )
        # Not the current app: the shared tasks of later tests in this process must keep
        # running inline.
        publisher = Celery(broker=broker, set_as_current=False)
        with celery_worker(env, tmp_path) as worker:
            publisher.send_task("engage.messaging.tasks.deliver_message", args=[message.pk])
            assert smtp_server.data_started.wait(30), (tmp_path / "celery-worker.log").read_text()
            message.refresh_from_db()
            assert message.status == Message.SENDING
            kill(worker)
        smtp_server.release.set()  # the provider has the message and may deliver it

        with celery_worker(env, tmp_path, beat=True):
            wait_for_status(message, Message.UNKNOWN)
            # The broker redelivering the task changes nothing either.
            publisher.send_task("engage.messaging.tasks.deliver_message", args=[message.pk])
            time.sleep(1.5)

    message.refresh_from_db()
    assert message.status == Message.UNKNOWN and message.attempts == 1
    assert MessageDecision.objects.get(message=message).reason == "worker_lost"
    assert len(smtp_server.messages) <= 1
