"""Web push: aes128gcm payloads and VAPID, checked and decrypted by a push service."""

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from engage.plugins.base import PermanentSendError, SettingsError
from engage.plugins.provider_http import ProviderRejected
from plugins.webpush import PUSH_SERVICE_HOSTS, WebPushChannel, host_allowed

from .providers import FakePushService


@pytest.fixture(scope="module")
def vapid_key():
    return ec.generate_private_key(ec.SECP256R1())


def raw_private(key) -> str:
    number = key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(number).rstrip(b"=").decode()


@pytest.fixture
def push_service(loopback_allowed, vapid_key):
    public = vapid_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    server = FakePushService(public)
    yield server
    server.close()


@pytest.fixture
def subscribed(customer, push_service):
    customer.traits["web_push_subscription"] = push_service.subscription()
    customer.save()
    return customer


def channel(vapid_key, hosts="127.0.0.1") -> WebPushChannel:
    return WebPushChannel(
        WebPushChannel.validate_settings(
            {
                "vapid_private_key": raw_private(vapid_key),
                "vapid_subject": "mailto:ops@acme.test",
                "push_service_hosts": hosts,
            }
        )
    )


def test_browser_receives_the_decrypted_payload(push_service, subscribed, vapid_key, make_message):
    webpush = channel(vapid_key)
    address = webpush.address_for(subscribed)
    assert address == push_service.subscription()["endpoint"]
    message = make_message("webpush", body="Your cart misses you", subject="Acme")

    result = webpush.send(message=message, address=address)

    assert push_service.delivered == [
        {"title": "Acme", "body": "Your cart misses you", "message_id": message.pk}
    ]
    [req] = push_service.accepted
    assert req.headers["ttl"] == "86400"
    assert b"Your cart" not in req.body  # encrypted on the wire
    assert result.provider_message_id == f"{push_service.url}/m/1"


def test_a_key_other_than_the_subscribed_one_is_refused(push_service, subscribed, make_message):
    stranger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ProviderRejected, match="HTTP 403"):
        channel(stranger).send(
            message=make_message("webpush"), address=push_service.subscription()["endpoint"]
        )
    assert push_service.delivered == []


def test_expired_subscription_is_permanent_and_forgotten(
    push_service, subscribed, vapid_key, make_message
):
    push_service.gone = True
    webpush = channel(vapid_key)
    with pytest.raises(ProviderRejected, match="HTTP 410"):
        webpush.send(message=make_message("webpush"), address=webpush.address_for(subscribed))
    subscribed.refresh_from_db()
    assert "web_push_subscription" not in subscribed.traits
    assert webpush.address_for(subscribed) is None


def test_a_subscription_with_bad_keys_fails_clearly(
    push_service, customer, vapid_key, make_message
):
    customer.traits["web_push_subscription"] = {
        "endpoint": push_service.url + "/push/x",
        "keys": {"p256dh": "bm90LWEta2V5", "auth": "YXV0aA"},
    }
    customer.save()
    with pytest.raises(PermanentSendError, match="subscription is invalid"):
        channel(vapid_key).send(
            message=make_message("webpush"), address=push_service.url + "/push/x"
        )
    assert push_service.requests == []


def test_settings_errors_name_the_field():
    with pytest.raises(SettingsError) as exc:
        WebPushChannel.validate_settings({"vapid_private_key": "nope", "vapid_subject": "ops@acme"})
    assert exc.value.errors == {
        "vapid_private_key": "not a P-256 private key (base64url raw or PEM)",
        "vapid_subject": "must start with mailto: or https://",
    }


def test_endpoints_off_the_push_services_are_refused(
    push_service, subscribed, vapid_key, make_message
):
    webpush = channel(vapid_key, hosts=PUSH_SERVICE_HOSTS)  # the defaults
    with pytest.raises(PermanentSendError, match=r"127\.0\.0\.1 is not a known push service"):
        webpush.send(message=make_message("webpush"), address=webpush.address_for(subscribed))
    assert push_service.requests == []


@pytest.mark.parametrize(
    "endpoint,allowed",
    [
        ("https://fcm.googleapis.com/fcm/send/abc", True),
        ("https://wns2-by3p.notify.windows.com/w/?token=x", True),
        ("https://web.push.apple.com/QGx", True),
        ("https://updates.push.services.mozilla.com/wpush/v2/x", True),
        ("https://evil.example/fcm.googleapis.com", False),
        ("https://fcm.googleapis.com.evil.example/x", False),
        ("https://notify.windows.com.evil.example/x", False),
    ],
)
def test_default_push_service_hosts(endpoint, allowed):
    assert host_allowed(endpoint, PUSH_SERVICE_HOSTS) is allowed
