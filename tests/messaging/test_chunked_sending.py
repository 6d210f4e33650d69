"""Due messages are claimed and sent a chunk at a time, over one SMTP
connection, and still at most once."""

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from engage.messaging import sending, services
from engage.messaging.models import Message, MessageDecision, MessagingPolicy
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile

from .conftest import Mailbox
from .helpers import queue_email
from .test_worker_death import ROOT, database_url


class Relay(Mailbox):
    """A Mailbox that notes each mail's connection, refuses some recipients,
    and can keep the ``hold_at``-th DATA unanswered until ``release`` is set."""

    def __init__(self):
        super().__init__()
        self.peers = []
        self.refuse: set[str] = set()
        self.hold_at = None
        self.held = threading.Event()
        self.data_count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_count += 1
        if self.data_count == self.hold_at:
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def relay(settings, monkeypatch, workspace):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    monkeypatch.setenv("ENGAGE_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
    server = Relay()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={
            "from_email": "news@shop.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "timeout": 5,
        },
    )
    yield server
    server.release.set()
    controller.stop()


def customers(workspace, count: int) -> list[Profile]:
    people = []
    for i in range(count):
        profile = Profile.objects.create(workspace=workspace.workspace, traits={"n": i})
        Identity.objects.create(
            workspace=workspace.workspace, profile=profile, kind="email", value=f"c{i}@x.io"
        )
        people.append(profile)
    return people


def received(relay) -> list[str]:
    return sorted(address for mail in relay.messages for address in mail["to"])


@pytest.mark.django_db
def test_a_chunk_goes_over_one_connection_and_each_message_once(workspace, relay):
    people = customers(workspace, 6)
    messages = [queue_email(workspace.workspace, p, subject=f"#{p.pk}") for p in people]

    statuses = sending.send_chunk([m.pk for m in messages])

    assert statuses == {m.pk: Message.SENT for m in messages}
    assert received(relay) == [f"c{i}@x.io" for i in range(6)]
    assert len(set(relay.peers)) == 1, "one SMTP connection for the whole chunk"
    for message in Message.objects.filter(pk__in=[m.pk for m in messages]):
        assert (message.attempts, message.next_attempt_at) == (1, None)
    assert MessageDecision.objects.filter(action="send").count() == 6
    # Sending again sends nothing: every message has left the queue.
    assert sending.send_chunk([m.pk for m in messages]) == {}
    assert len(relay.messages) == 6


@pytest.mark.django_db
def test_the_chunk_size_bounds_a_claim_and_send_due_empties_the_queue(workspace, relay, settings):
    settings.ENGAGE_SEND_CHUNK_SIZE = 4
    people = customers(workspace, 10)
    for person in people:
        queue_email(workspace.workspace, person)

    assert len(sending.send_chunk()) == 4
    assert sending.send_due() == 6

    assert received(relay) == sorted(f"c{i}@x.io" for i in range(10))
    assert len(set(relay.peers)) == 3, "a connection per chunk"


@pytest.mark.django_db
def test_one_refused_recipient_fails_alone_and_the_rest_of_the_chunk_is_sent(workspace, relay):
    relay.refuse = {"c1@x.io"}
    people = customers(workspace, 3)
    messages = [queue_email(workspace.workspace, p) for p in people]

    statuses = sending.send_chunk([m.pk for m in messages])

    assert [statuses[m.pk] for m in messages] == [Message.SENT, Message.FAILED, Message.SENT]
    assert received(relay) == ["c0@x.io", "c2@x.io"]
    assert "550" in Message.objects.get(pk=messages[1].pk).error


@pytest.mark.django_db
def test_caps_count_the_other_messages_of_the_chunk(workspace, relay):
    MessagingPolicy.objects.create(workspace=workspace.workspace, total_per_day=2)
    (ada,) = customers(workspace, 1)
    promos = [queue_email(workspace.workspace, ada, category="marketing") for _ in range(3)]

    sending.send_chunk([m.pk for m in promos])

    assert len(relay.messages) == 2
    statuses = [Message.objects.get(pk=m.pk).status for m in promos]
    assert statuses == [Message.SENT, Message.SENT, Message.SKIPPED]
    skip = MessageDecision.objects.get(message=promos[2])
    assert (skip.action, skip.reason) == ("skip", "contact_budget")


@pytest.mark.django_db(transaction=True)
def test_a_message_cancelled_after_its_chunk_was_claimed_is_not_sent(workspace, relay):
    relay.hold_at = 1
    people = customers(workspace, 3)
    first, second, third = (queue_email(workspace.workspace, p) for p in people)

    def work():
        try:
            sending.send_chunk([first.pk, second.pk, third.pk])
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        assert relay.held.wait(30)
        # The first is with the provider; the others are claimed, waiting their turn.
        with pytest.raises(services.NotCancellable):
            services.cancel_message(message=first)
        assert Message.objects.get(pk=second.pk).status == Message.SENDING
        cancelled = services.cancel_message(message=second, reason="the order shipped")
        assert cancelled.status == Message.CANCELLED
    finally:
        relay.release.set()
        worker.join(30)

    assert received(relay) == ["c0@x.io", "c2@x.io"]
    second.refresh_from_db()
    assert (second.status, second.attempts) == (Message.CANCELLED, 0)
    assert MessageDecision.objects.get(message=second).reason == "cancelled"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_never_resends_what_it_attempted(workspace, relay):
    relay.hold_at = 3
    people = customers(workspace, 5)
    messages = [queue_email(workspace.workspace, p) for p in people]
    ids = [m.pk for m in messages]
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from engage.messaging.sending import send_chunk; send_chunk({ids})",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert relay.held.wait(30), worker.stderr.read1().decode()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        worker.kill()
        worker.wait()
    assert received(relay) == ["c0@x.io", "c1@x.io"]
    relay.release.set()  # the provider got the third and may deliver it

    later = timezone.now() + sending.sending_timeout() + dt.timedelta(seconds=1)
    assert sending.recover_stuck(now=later) == 5

    # The first three were handed to the provider: held for review, never resent.
    statuses = {m.pk: m.status for m in Message.objects.filter(pk__in=ids)}
    assert [statuses[pk] for pk in ids] == ["unknown"] * 3 + ["queued"] * 2
    reasons = MessageDecision.objects.filter(message_id__in=ids).values_list("action", "reason")
    assert sorted(reasons) == [("hold", "worker_lost")] * 3 + [("retry", "worker_lost")] * 2
    # The last two never were: they go out now, once.
    assert sending.send_due(now=later) == 2
    assert sending.send_due(now=later) == 0
    sent = received(relay)
    assert sent.count("c3@x.io") == sent.count("c4@x.io") == 1
    assert sent.count("c0@x.io") == sent.count("c1@x.io") == 1
    assert sent.count("c2@x.io") <= 1
