"""Messages for later (``send_at``) and cancelled messages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engage.messaging import consent, sending
from engage.messaging.models import Consent, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    def call(path, key, body=None):
        return client.post(
            path, body or {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        )

    return call


def send(api, workspace, customer, **body):
    body = {
        "profile_id": customer.pk,
        "channel": "email",
        "category": "marketing",
        "subject": "Hi",
        "body": "Hi {{ traits.first_name }}",
        **body,
    }
    return api("/api/messages/send", workspace.secret_key, body)


def test_a_scheduled_message_waits_for_its_time_then_the_sweep_sends_it(
    api, workspace, email_channel, customer, smtp_server, django_capture_on_commit_callbacks
):
    send_at = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, workspace, customer, send_at=send_at.isoformat())

    assert response.status_code == 202, response.json()
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == Message.QUEUED and message.next_attempt_at == send_at
    assert sending.due_message_ids() == [] and smtp_server.messages == []

    later = send_at + timedelta(seconds=1)
    assert sending.due_message_ids(now=later) == [message.pk]
    assert sending.send_message(message.pk, now=later) == Message.SENT
    assert smtp_server.messages[0]["mail"]["Subject"] == "Hi"


def test_policy_runs_when_a_scheduled_message_is_sent_not_when_it_is_made(
    api, workspace, email_channel, customer, smtp_server
):
    send_at = timezone.now() + timedelta(hours=1)
    response = send(api, workspace, customer, send_at=send_at.isoformat())
    assert response.status_code == 202, response.json()
    consent.record_consent(profile=customer, status=Consent.OPTED_OUT, source="api")

    message_id = response.json()["id"]
    sending.send_message(message_id, now=send_at + timedelta(seconds=1))

    assert Message.objects.get(pk=message_id).status == Message.SKIPPED
    assert smtp_server.messages == []


def test_a_send_at_in_the_past_sends_now(
    api, workspace, email_channel, customer, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            api, workspace, customer, send_at=(timezone.now() - timedelta(days=3)).isoformat()
        )

    assert response.status_code == 202, response.json()
    assert Message.objects.get(pk=response.json()["id"]).status == Message.SENT
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    ("send_at", "reason"),
    [
        ((timezone.now() + timedelta(days=366)).isoformat(), "at most 365 days ahead"),
        ("next tuesday", "Datetime has wrong format"),
        (12, "Datetime has wrong format"),
    ],
)
def test_a_bad_send_at_is_refused_naming_it(api, workspace, customer, send_at, reason):
    response = send(api, workspace, customer, send_at=send_at)

    assert response.status_code == 400
    assert reason in response.json()["errors"]["send_at"][0]
    assert not Message.objects.exists()
