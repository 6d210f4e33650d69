import pytest

from engage.messaging.models import Message
from engage.profiles.models import Identity, Profile

from .providers import FakeTwilio, Receiver

ACCOUNT_SID = "AC" + "0" * 30 + "11"
AUTH_TOKEN = "twilio-auth-token"


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
