"""A channel's send rate holds across workers: two processes sending the
same queue hand the SMTP server no more than ``send_rate`` mails a second,
whether the shared bucket is in Redis or, without Redis, in the database."""

import datetime as dt
import socket
import sys
import time

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from engage.messaging import sending, services
from engage.messaging.models import Message, MessageDecision
from engage.messaging.rendering import Content
from engage.plugins.base import SettingsError
from engage.plugins.manager import channels
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile
from tests.live_processes import process_env, start, stop, wait_for_line

from .conftest import Mailbox
from .helpers import queue_email
from .test_chunked_sending import customers

RATE = 10
# Sends a loaded machine may bunch into one second (two workers each
# sending at the full rate would put 20 there, no bucket 40).
JITTER = 2
COUNT = 40

# Each worker: connect, say so, wait for the go file, then send whatever is
# due until the queue is empty.
_WORKER = """\
import pathlib, time
from django.db import connection
from engage.messaging import sending
from engage.messaging.models import Message
connection.ensure_connection()
print("ready", flush=True)
go = pathlib.Path({go!r})
while not go.exists():
    time.sleep(0.002)
deadline = time.monotonic() + 30
waiting = [*Message.READY, Message.SENDING]
while time.monotonic() < deadline and Message.objects.filter(status__in=waiting).exists():
    sending.send_due()
    time.sleep(0.02)
print("done", flush=True)
"""


class TimedMailbox(Mailbox):
    """A Mailbox that notes when each mail arrived."""

    def __init__(self):
        super().__init__()
        self.arrivals: list[float] = []

    async def handle_DATA(self, server, session, envelope):
        self.arrivals.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def timed_smtp(settings, monkeypatch):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    monkeypatch.setenv("ENGAGE_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
    mailbox = TimedMailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        mailbox.port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


def most_in_one_second(arrivals: list[float]) -> int:
    """The most arrivals in any window of one second starting at an arrival,
    less 50 ms for the loopback's jitter: sends booked 100 ms apart reach the
    server a few milliseconds early or late (and, on a loaded machine, a
    worker put to sleep between its booked instant and its send arrives late,
    next to the following one: hence ``JITTER`` below)."""
    arrivals = sorted(arrivals)
    return max(sum(1 for t in arrivals[i:] if t < start + 0.95) for i, start in enumerate(arrivals))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bucket", ["redis", "database"])
def test_two_workers_keep_to_the_channels_send_rate(workspace, timed_smtp, bucket, tmp_path):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={
            "from_email": "news@shop.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": timed_smtp.port,
            "send_rate": RATE,
        },
    )
    for person in customers(workspace, COUNT):
        queue_email(workspace.workspace, person)
    overrides = {"ENGAGE_SEND_CHUNK_SIZE": "10"}
    if bucket == "database":
        overrides["REDIS_URL"] = ""
    env = process_env(**overrides)
    go = tmp_path / "go"
    code = _WORKER.format(go=str(go))
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    workers = [start([sys.executable, "manage.py", "shell", "-c", code], env, log) for log in logs]
    try:
        for worker, log in zip(workers, logs, strict=True):
            wait_for_line("ready", worker, log)
        go.touch()
        for worker, log in zip(workers, logs, strict=True):
            assert worker.wait(timeout=40) == 0, log.read_text()
            assert "done" in log.read_text()
    finally:
        for worker in workers:
            stop(worker)

    assert Message.objects.filter(status=Message.SENT).count() == COUNT
    assert len(timed_smtp.messages) == COUNT, "each message once"
    # 40 at 10 a second: the first goes at once, the last 3.9 s later.
    assert max(timed_smtp.arrivals) - min(timed_smtp.arrivals) >= 3.5
    assert most_in_one_second(timed_smtp.arrivals) <= RATE + JITTER


@pytest.mark.parametrize("channel_id", sorted(channels()))
def test_every_channel_takes_a_send_rate_and_refuses_one_not_above_zero(channel_id):
    cls = channels()[channel_id]
    names = [spec.name for spec in cls.settings_schema]
    assert "send_rate" in names, "the admin's form offers it"
    for bad, reason in [(0, "more than 0"), (-5, "more than 0"), ("fast", "must be a number")]:
        with pytest.raises(SettingsError) as refused:
            cls.validate_settings({"send_rate": bad})
        assert reason in refused.value.errors["send_rate"]


@pytest.mark.django_db
def test_a_send_rate_is_stored_with_the_channels_settings(workspace):
    config = configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={
            "from_email": "news@shop.example",
            "smtp_host": "smtp.shop.example",
            "send_rate": "2.5",
        },
    )
    assert config.settings["send_rate"] == 2.5


@pytest.mark.django_db
def test_a_message_with_no_slot_in_reach_waits_queued_not_failed(workspace, settings):
    # A chunk may wait half the sending timeout: 1 s here, less than the 10 s
    # between two sends at 0.1 a second, so the rest of the chunk is given back.
    settings.ENGAGE_SENDING_TIMEOUT_SECONDS = 2
    ws = workspace.workspace
    configure_plugin(workspace=ws, plugin_id="inapp", settings={"send_rate": 0.1})
    people = [Profile.objects.create(workspace=ws) for _ in range(3)]
    for n, person in enumerate(people):
        Identity.objects.create(workspace=ws, profile=person, kind="user_id", value=f"u{n}")
    messages = [
        services.create_message(
            workspace=ws,
            profile=person,
            channel="inapp",
            category="transactional",
            content=Content(body="Your order shipped"),
            send_now=False,
        ).message
        for person in people
    ]

    started = time.monotonic()
    assert sending.send_due() == 1
    assert time.monotonic() - started < 1.5, "no sleeping for a slot out of reach"

    rows = Message.objects.filter(pk__in=[m.pk for m in messages]).order_by("pk")
    assert [m.status for m in rows] == [Message.SENT, Message.QUEUED, Message.QUEUED]
    for waiting in rows[1:]:
        assert waiting.attempts == 0, "giving back is not an attempt"
        assert waiting.next_attempt_at > timezone.now() + dt.timedelta(seconds=8)
    assert not MessageDecision.objects.filter(action__in=["skip", "retry", "hold"]).exists()
