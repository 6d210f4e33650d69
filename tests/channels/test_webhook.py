"""The webhook channel: a signed JSON POST, and the SSRF guard on its URL."""

import hashlib
import hmac
import json
import time

import pytest

from engage.plugins.base import PermanentSendError, SettingsError, TransientSendError
from plugins.webhook import WebhookChannel

SECRET = "whsec-test"


def channel_for(url: str) -> WebhookChannel:
    return WebhookChannel(WebhookChannel.validate_settings({"url": url, "signing_secret": SECRET}))


def test_posts_signed_json_the_receiver_can_verify(receiver, make_message, customer):
    message = make_message("webhook", body="Hello Ada", subject="Hi")
    channel = channel_for(receiver.url + "/engage")

    result = channel.send(message=message, address=channel.address_for(customer))

    assert result.provider_message_id == f"webhook-{message.pk}"
    [req] = receiver.requests
    assert req.path == "/engage" and req.method == "POST"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["idempotency-key"] == message.idempotency_key
    # The receiver's side of the contract: t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<body>").
    fields = dict(part.split("=", 1) for part in req.headers["x-engage-signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), fields["t"].encode() + b"." + req.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert abs(int(fields["t"]) - time.time()) < 60
    payload = json.loads(req.body)
    assert payload["message"]["body"] == "Hello Ada"
    assert payload["profile"]["id"] == customer.pk
    assert {"kind": "phone", "value": "+14155552671"} in payload["profile"]["identities"]


def test_a_tampered_body_does_not_match_the_signature(receiver, make_message, customer):
    channel_for(receiver.url).send(message=make_message("webhook"), address="x")
    [req] = receiver.requests
    fields = dict(part.split("=", 1) for part in req.headers["x-engage-signature"].split(","))
    tampered = req.body.replace(b"Your order", b"Your refund")
    forged = hmac.new(
        SECRET.encode(), fields["t"].encode() + b"." + tampered, hashlib.sha256
    ).hexdigest()
    assert forged != fields["v1"]


def test_server_errors_are_transient_and_client_errors_permanent(receiver, make_message):
    channel = channel_for(receiver.url)
    receiver.fail_next(503, headers={"Retry-After": "7"})
    with pytest.raises(TransientSendError) as exc:
        channel.send(message=make_message("webhook"), address="x")
    assert exc.value.retry_after == 7
    receiver.fail_next(404, {"error": "no such hook"})
    with pytest.raises(PermanentSendError, match="HTTP 404"):
        channel.send(message=make_message("webhook"), address="x")


def test_a_closed_port_is_transient(loopback_allowed, make_message):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(TransientSendError, match="could not connect"):
        channel_for(f"http://127.0.0.1:{port}/").send(message=make_message("webhook"), address="x")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/hook",
        "http://localhost:9/hook",
        "http://2130706433/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_private_loopback_and_link_local_urls_are_refused(db, url, make_message):
    with pytest.raises(SettingsError) as exc:
        channel_for(url)
    # (Django's URL validator already rejects some spellings, e.g. 2130706433.)
    assert exc.value.errors["url"].startswith("refused") or exc.value.errors["url"] == (
        "not a valid url"
    )
    # A channel configured before the guard, or a name that re-resolves, is
    # still refused when connecting, without a request going out.
    channel = WebhookChannel({"url": url, "signing_secret": SECRET, "timeout_seconds": 2})
    started = time.monotonic()
    with pytest.raises(PermanentSendError, match="refused to connect"):
        channel.send(message=make_message("webhook"), address="x")
    assert time.monotonic() - started < 1


def test_loopback_is_refused_unless_allowed(db, make_message):
    from .providers import Receiver

    server = Receiver()
    try:
        # Settings as engage loads them (validated, defaults filled in), minus
        # the URL check that would refuse loopback before sending.
        settings = {"url": server.url, "signing_secret": SECRET, "timeout_seconds": 10}
        channel = WebhookChannel(settings)
        with pytest.raises(PermanentSendError, match="loopback"):
            channel.send(message=make_message("webhook"), address="x")
        assert server.requests == []
    finally:
        server.close()


def test_redirects_are_not_followed(receiver, make_message):
    from .providers import Receiver

    inside = Receiver()
    try:
        receiver.fail_next(302, headers={"Location": inside.url + "/internal"})
        with pytest.raises(PermanentSendError, match="redirects are not followed"):
            channel_for(receiver.url).send(message=make_message("webhook"), address="x")
        assert inside.requests == []
    finally:
        inside.close()


def test_settings_errors_name_the_field(db):
    with pytest.raises(SettingsError) as exc:
        WebhookChannel.validate_settings({"url": "ftp://example.com/x"})
    assert exc.value.errors == {"url": "not a valid url", "signing_secret": "required"}
