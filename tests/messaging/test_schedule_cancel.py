"""Messages for later (``send_at``) and cancelled messages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engage.messaging import consent, sending
from engage.messaging.models import Consent, Message, MessageDecision

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    def call(path, key, body=None):
        return client.post(
            path, body or {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        )

    call.client = client
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
        (timedelta(days=366), "at most 365 days ahead"),
        ("next tuesday", "Datetime has wrong format"),
        (12, "Datetime has wrong format"),
    ],
    ids=["366 days ahead", "not a date", "a number"],
)
def test_a_bad_send_at_is_refused_naming_it(api, workspace, customer, send_at, reason):
    if isinstance(send_at, timedelta):  # from now, taken when the test runs
        send_at = (timezone.now() + send_at).isoformat()
    response = send(api, workspace, customer, send_at=send_at)

    assert response.status_code == 400
    assert reason in response.json()["errors"]["send_at"][0]
    assert not Message.objects.exists()


def cancel(api, workspace, message_id, **body):
    return api(f"/api/messages/{message_id}/cancel", workspace.secret_key, body)


@pytest.mark.parametrize("status", [Message.QUEUED, Message.DEFERRED])
def test_a_cancelled_message_is_never_sent_and_the_reason_is_logged(
    api, workspace, email_channel, customer, smtp_server, status
):
    response = send(api, workspace, customer)
    message = Message.objects.get(pk=response.json()["id"])
    Message.objects.filter(pk=message.pk).update(status=status)

    response = cancel(api, workspace, message.pk, reason="the customer bought it already")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    # A late task and the sweep both pass it by.
    assert sending.send_message(message.pk, now=timezone.now() + timedelta(days=1)) is None
    assert sending.due_message_ids(now=timezone.now() + timedelta(days=1)) == []
    assert smtp_server.messages == []
    decisions = api_get(api, workspace, f"/api/profiles/{customer.pk}/decisions")["results"]
    assert [(d["action"], d["reason"], d["detail"], d["message_id"]) for d in decisions] == [
        ("cancel", "cancelled", "the customer bought it already", message.pk)
    ]
    again = cancel(api, workspace, message.pk)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert MessageDecision.objects.count() == 1


def api_get(api, workspace, path):
    return api.client.get(path, HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}").json()


@pytest.mark.parametrize("status", [Message.SENDING, Message.SENT, Message.SKIPPED])
def test_a_message_past_the_queue_cannot_be_cancelled(api, workspace, customer, status):
    response = send(api, workspace, customer)
    message_id = response.json()["id"]
    Message.objects.filter(pk=message_id).update(status=status)

    response = cancel(api, workspace, message_id)

    assert response.status_code == 409
    body = response.json()
    assert f"the message is {status}" in body["detail"]
    assert f"the message is {status}" in body["errors"]["status"][0]
    assert Message.objects.get(pk=message_id).status == status
    assert not MessageDecision.objects.exists()


def test_cancel_bad_input(api, workspace, other_workspace, customer):
    message_id = send(api, workspace, customer).json()["id"]

    too_long = cancel(api, workspace, message_id, reason="x" * 1001)
    assert too_long.status_code == 400
    assert "1000" in too_long.json()["errors"]["reason"][0]
    not_text = cancel(api, workspace, message_id, reason=5)
    assert not_text.json()["errors"]["reason"] == ["must be a string"]
    assert cancel(api, other_workspace, message_id).status_code == 404
    assert Message.objects.get(pk=message_id).status == Message.QUEUED
