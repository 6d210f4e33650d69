import asyncio
import socket
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile


class Mailbox:
    """An aiosmtpd handler that keeps what it receives.

    ``reply`` overrides the answer to DATA (e.g. "451 4.3.0 try later");
    while ``hold`` is set the server accepts DATA but does not answer until
    ``release`` is set, the way a slow provider leaves a worker mid-send.
    """

    def __init__(self):
        self.messages = []
        self.reply = None
        self.hold = False
        self.data_started = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.data_started.set()
        if self.hold:
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        if self.reply:
            return self.reply
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "mail": message_from_bytes(envelope.original_content, policy=policy.default),
            }
        )
        return "250 2.0.0 Message accepted"


@pytest.fixture
def smtp_server(settings, monkeypatch):
    # The outbound guard refuses loopback mail servers unless allowed; the
    # environment carries it to the workers and servers tests start.
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    monkeypatch.setenv("ENGAGE_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        mailbox.port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    mailbox.release.set()
    controller.stop()


@pytest.fixture
def email_channel(workspace, smtp_server):
    """The email channel enabled for ``workspace``, sending to the loopback server."""
    return configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={
            "from_email": "news@shop.example",
            "from_name": "Shop",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "timeout": 5,
        },
    )


@pytest.fixture
def customer(workspace):
    """A customer with an email address and a first name."""
    profile = Profile.objects.create(
        workspace=workspace.workspace, traits={"first_name": "Ada", "email": "ada@example.com"}
    )
    Identity.objects.create(
        workspace=workspace.workspace, profile=profile, kind="email", value="ada@example.com"
    )
    return profile
