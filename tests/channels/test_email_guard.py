"""The email channel's mail server goes through the outbound guard, like HTTP providers.

A workspace's staff choose the SMTP host; without the guard they could make
the server log in to, or relay through, a mail server on its own network.
"""

import socket
import threading

import pytest

from engage.messaging import sending
from engage.messaging.models import Message
from engage.plugins.base import SettingsError
from engage.plugins.services import configure_plugin
from tests.messaging.helpers import queue_email

pytestmark = pytest.mark.django_db


class Listener:
    """A TCP port on loopback that counts who connects (and answers nothing)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.sock.close()


def email_settings(host, port=25):
    return {"from_email": "news@shop.example", "smtp_host": host, "smtp_port": port}


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),
        ("10.0.0.8", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
    ],
)
def test_a_mail_server_on_the_servers_network_is_refused_naming_the_field(
    workspace, settings, host, kind
):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(SettingsError) as error:
        configure_plugin(
            workspace=workspace.workspace, plugin_id="email", settings=email_settings(host)
        )
    assert f"is a {kind} address" in error.value.errors["smtp_host"]
    assert "ENGAGE_OUTBOUND_ALLOWED_NETWORKS" in error.value.errors["smtp_host"]


def test_the_smtp_backend_needs_a_host(workspace):
    with pytest.raises(SettingsError) as error:
        configure_plugin(
            workspace=workspace.workspace,
            plugin_id="email",
            settings={"from_email": "news@shop.example"},
        )
    assert error.value.errors == {"smtp_host": "required for the smtp backend"}


def test_an_allowed_network_lets_a_relay_through(workspace, settings):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    config = configure_plugin(
        workspace=workspace.workspace, plugin_id="email", settings=email_settings("127.0.0.1")
    )
    assert config.settings["smtp_host"] == "127.0.0.1"


def test_a_name_is_checked_when_connecting_once_its_address_is_known(
    workspace, settings, listener, customer
):
    # The machine's own name passes validation (a name, not an address) but
    # resolves to one of its own addresses: the send never connects.
    host = socket.gethostname()
    try:
        socket.getaddrinfo(host, listener.port)
    except socket.gaierror:
        pytest.skip(f"{host} does not resolve here")
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = []
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={**email_settings(host, listener.port), "smtp_password": "pw"},
    )
    message = queue_email(workspace.workspace, customer, key="guard-1")

    sending.send_message(message.pk)

    message.refresh_from_db()
    assert message.status == Message.FAILED
    assert f"refused to connect to {host}" in message.error
    assert listener.connections == 0


def test_changing_the_host_needs_the_password_again(workspace, settings, listener):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    config = configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={**email_settings("smtp.shop.example", 587), "smtp_password": "s3cret"},
    )

    with pytest.raises(SettingsError) as error:
        configure_plugin(
            workspace=workspace.workspace,
            plugin_id="email",
            settings=email_settings("127.0.0.1", listener.port),
        )

    assert error.value.errors["smtp_password"].startswith("required again: smtp_host changed")
    config.refresh_from_db()
    assert config.settings["smtp_host"] == "smtp.shop.example"
    assert config.settings["smtp_password"] == "s3cret"
    assert listener.connections == 0
    # Other settings can still be changed with the password left blank.
    kept = configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={**email_settings("smtp.shop.example", 465), "from_name": "Shop"},
    )
    assert kept.settings["smtp_password"] == "s3cret"
