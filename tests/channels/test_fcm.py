"""Push through FCM HTTP v1, with the OAuth token minted from a service account."""

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from engage.plugins.base import PermanentSendError, SettingsError, TransientSendError
from engage.plugins.provider_http import ProviderRejected
from engage.profiles.models import Identity
from plugins.fcm import FCMChannel

from .conftest import DEVICE, service_account


def push(google, private_key) -> FCMChannel:
    return FCMChannel(
        FCMChannel.validate_settings(
            {
                "service_account_json": service_account(private_key, google.token_uri),
                "api_base_url": google.url,
            }
        )
    )


@pytest.fixture
def device(customer):
    Identity.objects.create(
        workspace=customer.workspace, profile=customer, kind="push_token", value=DEVICE
    )
    return DEVICE


def test_sends_fcm_v1_message_with_a_minted_token(
    google, private_key, make_message, customer, device
):
    channel = push(google, private_key)
    assert channel.address_for(customer) == DEVICE

    first = channel.send(
        message=make_message("push", body="Back in stock", subject="Acme"), address=DEVICE
    )
    channel.send(message=make_message("push", body="Again"), address=DEVICE)

    token_requests = [r for r in google.accepted if r.path == "/token"]
    sends = [r for r in google.accepted if r.path.endswith("messages:send")]
    assert len(token_requests) == 1  # the access token is reused
    assert len(sends) == 2
    assert sends[0].json["message"]["token"] == DEVICE
    assert sends[0].json["message"]["notification"] == {"body": "Back in stock", "title": "Acme"}
    assert first.provider_message_id.startswith("projects/acme-app/messages/")


def test_unregistered_token_is_permanent_and_removed(
    google, private_key, make_message, customer, device
):
    google.registered.clear()
    with pytest.raises(ProviderRejected) as exc:
        push(google, private_key).send(message=make_message("push"), address=DEVICE)
    assert exc.value.code == "UNREGISTERED"
    assert not Identity.objects.filter(kind="push_token", value=DEVICE).exists()


def test_revoked_access_token_is_transient_and_refetched(google, private_key, make_message, device):
    channel = push(google, private_key)
    channel.send(message=make_message("push"), address=DEVICE)
    google.issued.clear()  # Google revoked it
    with pytest.raises(TransientSendError, match="access token refused"):
        channel.send(message=make_message("push"), address=DEVICE)
    channel.send(message=make_message("push"), address=DEVICE)
    assert len([r for r in google.accepted if r.path == "/token"]) == 2


def test_a_foreign_key_is_refused_by_the_token_endpoint(google, make_message, device):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(
        PermanentSendError, match="refused the service account: HTTP 400 invalid_grant"
    ):
        push(google, other).send(message=make_message("push"), address=DEVICE)
    assert google.accepted == []


def test_settings_errors_name_the_field(private_key):
    with pytest.raises(SettingsError) as exc:
        FCMChannel.validate_settings({"service_account_json": "{not json"})
    assert exc.value.errors == {"service_account_json": "not valid JSON"}
    with pytest.raises(SettingsError) as exc:
        FCMChannel.validate_settings({"service_account_json": json.dumps({"project_id": "p"})})
    assert exc.value.errors == {
        "service_account_json": "missing client_email, private_key, token_uri"
    }
    broken = json.loads(service_account(private_key, "https://oauth2.googleapis.com/token"))
    broken["private_key"] = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"
    with pytest.raises(SettingsError) as exc:
        FCMChannel.validate_settings({"service_account_json": json.dumps(broken)})
    assert exc.value.errors == {"service_account_json": "private_key is not a PEM private key"}
