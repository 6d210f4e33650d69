"""The generic provider webhook endpoint, with a channel defined here: a JSON
body signed with HMAC-SHA256 in ``X-Chat-Signature``."""

import hashlib
import hmac
import json
import sys

import pytest

from engage.events.models import Event
from engage.messaging import sending, services
from engage.messaging.models import Consent, Message, WebhookReceipt
from engage.messaging.rendering import Content
from engage.plugins import hookimpl
from engage.plugins.base import Channel, SendResult, SettingField, WebhookSignal
from engage.plugins.services import configure_plugin

pytestmark = pytest.mark.django_db
SECRET = "chat-signing-secret"


class Chat(Channel):
    id = "chat"
    name = "Chat"
    address_kind = "email"
    settings_schema = (SettingField("signing_secret", secret=True, required=True),)

    def send(self, *, message, address):
        return SendResult(provider_message_id=f"chat-{message.pk}")

    def verify_webhook(self, request):
        expected = hmac.new(
            self.settings["signing_secret"].encode(), request.body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(expected, request.headers.get("X-Chat-Signature", ""))

    def parse_webhook(self, request):
        try:
            items = json.loads(request.body)["events"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a chat event list ({exc})") from None
        return [
            WebhookSignal(
                kind=item["type"],
                provider_event_id=item["id"],
                provider_message_id=item.get("message", ""),
                address=item.get("from", ""),
                text=item.get("text", ""),
            )
            for item in items
        ]


@hookimpl
def engage_channels():
    return [Chat]


@pytest.fixture
def chat(workspace, register_plugin):
    register_plugin(sys.modules[__name__], "test-chat")
    configure_plugin(
        workspace=workspace.workspace, plugin_id="chat", settings={"signing_secret": SECRET}
    )


@pytest.fixture
def hook(client, workspace):
    def post(*events, secret=SECRET, workspace_id=None, raw=None):
        body = raw if raw is not None else json.dumps({"events": list(events)}).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return client.post(
            f"/hooks/{workspace_id or workspace.workspace.pk}/chat/",
            body,
            content_type="application/json",
            HTTP_X_CHAT_SIGNATURE=signature,
        )

    return post


@pytest.fixture
def sent(chat, workspace, customer):
    message = services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="chat",
        category="marketing",
        content=Content(body="hi"),
        send_now=False,
    ).message
    assert sending.send_message(message.pk) == Message.SENT
    message.refresh_from_db()
    return message


def names(profile):
    return list(
        Event.objects.filter(profile=profile, name__startswith="Chat")
        .order_by("id")
        .values_list("name", flat=True)
    )


def test_a_bad_signature_is_refused_and_nothing_is_applied(hook, sent, customer):
    response = hook({"type": "opened", "id": "e1", "message": "chat-1"}, secret="wrong")
    assert response.status_code == 403
    assert not WebhookReceipt.objects.exists()
    assert names(customer) == ["Chat Sent"]


def test_signals_are_deduplicated_and_only_move_the_status_forward(hook, sent, customer):
    mid = sent.provider_message_id
    assert hook({"type": "opened", "id": "e2", "message": mid}).status_code == 200
    # Redelivered, and the delivery report arriving late.
    hook(
        {"type": "opened", "id": "e2", "message": mid},
        {"type": "delivered", "id": "e1", "message": mid},
    )

    sent.refresh_from_db()
    assert sent.status == Message.OPENED
    assert sent.delivered_at is not None and sent.opened_at <= sent.delivered_at
    assert names(customer) == ["Chat Sent", "Chat Opened", "Chat Delivered"]
    assert WebhookReceipt.objects.count() == 2


def test_an_inbound_message_lands_on_the_profile_found_by_address(hook, chat, customer):
    hook({"type": "inbound", "id": "in-1", "from": "ada@example.com", "text": "Where is it?"})

    [received] = Event.objects.filter(profile=customer, name="Chat Message Received")
    assert received.properties["text"] == "Where is it?"


def test_an_opt_out_signal_stops_later_marketing(hook, sent, workspace, customer):
    hook({"type": "opted_out", "id": "stop-1", "from": "ada@example.com"})

    consent = Consent.objects.get(profile=customer)
    assert (consent.status, consent.channel, consent.source) == ("opted_out", "chat", "stop")
    promo = services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="chat",
        category="marketing",
        content=Content(body="sale"),
        send_now=False,
    ).message
    sending.send_message(promo.pk)
    promo.refresh_from_db()
    assert promo.status == Message.SKIPPED


def test_a_channel_not_enabled_in_the_workspace_is_not_found(hook, chat, other_workspace):
    event = {"type": "opened", "id": "x", "message": "m"}
    assert hook(event, workspace_id=other_workspace.workspace.pk).status_code == 404
    assert hook(event, workspace_id=999_999).status_code == 404


def test_an_unreadable_body_is_a_400_naming_the_body(hook, chat):
    response = hook(raw=b"not json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("body:")
