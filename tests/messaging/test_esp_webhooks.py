"""ESP delivery events through anymail, with Postmark's published webhook format."""

import base64

import pytest

from engage.events.models import Event
from engage.messaging import sending
from engage.messaging.models import Consent, Message, MessageDecision

from .helpers import queue_email

pytestmark = pytest.mark.django_db
POSTMARK_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
URL = "/anymail/postmark/tracking/"


@pytest.fixture
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "postmark:hook-pass"}


@pytest.fixture
def sent(workspace, email_channel, customer, smtp_server):
    message = queue_email(workspace.workspace, customer, category="marketing")
    sending.send_message(message.pk)
    # As if the ESP had answered with its own id.
    Message.objects.filter(pk=message.pk).update(provider_message_id=POSTMARK_ID)
    return message


def post(client, payload, auth="postmark:hook-pass"):
    headers = {}
    if auth:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return client.post(URL, payload, content_type="application/json", **headers)


def bounce(event_id=4323372036854775807):
    return {
        "RecordType": "Bounce",
        "ID": event_id,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": POSTMARK_ID,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (unknown user).",
        "Details": "smtp;550 5.1.1 The email account does not exist",
        "Email": "ada@example.com",
        "From": "news@shop.example",
        "BouncedAt": "2025-01-02T10:00:00Z",
        "Inactive": True,
        "CanActivate": True,
    }


def test_a_hard_bounce_marks_the_message_opts_out_and_reaches_the_timeline(
    client, webhook_secret, sent, workspace, customer
):
    assert post(client, bounce()).status_code == 200
    assert post(client, bounce()).status_code == 200  # Postmark retried

    sent.refresh_from_db()
    assert sent.status == Message.BOUNCED
    [event] = Event.objects.filter(profile=customer, name="Email Bounced")
    assert event.properties["esp"] == "Postmark"
    consent = Consent.objects.get(profile=customer)
    assert (consent.status, consent.source, consent.channel) == ("opted_out", "bounce", "email")

    later = queue_email(workspace.workspace, customer, category="marketing")
    sending.send_message(later.pk)
    assert MessageDecision.objects.get(message=later).reason == "opted_out"


def test_an_open_without_an_event_id_is_recorded_once(client, webhook_secret, sent, customer):
    opened = {
        "RecordType": "Open",
        "FirstOpen": True,
        "MessageID": POSTMARK_ID,
        "Recipient": "ada@example.com",
        "ReceivedAt": "2025-01-02T09:00:00Z",
        "UserAgent": "Mozilla/5.0",
    }
    post(client, opened)
    post(client, opened)

    assert Event.objects.filter(profile=customer, name="Email Opened").count() == 1
    sent.refresh_from_db()
    assert sent.status == Message.OPENED


def test_wrong_or_missing_credentials_are_refused(client, webhook_secret, sent, customer):
    assert post(client, bounce(), auth="postmark:guess").status_code == 400
    assert post(client, bounce(), auth=None).status_code == 400
    assert not Consent.objects.filter(profile=customer).exists()


def test_esp_webhooks_are_off_without_a_secret(client, settings, sent, customer):
    settings.ANYMAIL = {"WEBHOOK_SECRET": ""}
    assert post(client, bounce(), auth=None).status_code == 404
    assert client.post("/anymail/nope/tracking/", {}).status_code == 404
    assert not Consent.objects.filter(profile=customer).exists()
