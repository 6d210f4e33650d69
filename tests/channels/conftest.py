import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from engage.messaging.models import Message
from engage.profiles.models import Identity, Profile

from .providers import FakeGoogle, FakeTwilio, Receiver

ACCOUNT_SID = "AC" + "0" * 30 + "11"
AUTH_TOKEN = "twilio-auth-token"
CLIENT_EMAIL = "engage@acme-app.iam.gserviceaccount.com"
DEVICE = "fcm-device-token-1"


@pytest.fixture
def loopback_allowed(settings):
    """Let the SSRF guard reach the loopback provider servers."""
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def receiver(loopback_allowed):
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def twilio(loopback_allowed):
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    yield server
    server.close()


@pytest.fixture
def customer(workspace):
    """A profile with a phone number, an email and a user id."""
    profile = Profile.objects.create(workspace=workspace.workspace, traits={"first_name": "Ada"})
    for kind, value in (
        (Identity.USER_ID, "u-1"),
        (Identity.PHONE, "+14155552671"),
        (Identity.EMAIL, "ada@example.com"),
    ):
        Identity.objects.create(
            workspace=workspace.workspace, profile=profile, kind=kind, value=value
        )
    return profile


@pytest.fixture
def make_message(customer):
    counter = iter(range(1, 10_000))

    def make(channel: str, body: str = "Your order shipped", profile=None, **fields) -> Message:
        profile = profile or customer
        return Message.objects.create(
            workspace=profile.workspace,
            profile=profile,
            channel=channel,
            category=fields.pop("category", Message.TRANSACTIONAL),
            body=body,
            idempotency_key=f"test-{next(counter)}",
            **fields,
        )

    return make


@pytest.fixture(scope="session")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(loopback_allowed, private_key):
    server = FakeGoogle("acme-app", CLIENT_EMAIL, private_key.public_key())
    server.registered.add(DEVICE)
    yield server
    server.close()


def service_account(private_key, token_uri) -> str:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "acme-app",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": CLIENT_EMAIL,
            "token_uri": token_uri,
        }
    )
