"""WhatsApp (Meta Cloud API): the 24-hour window, templates, signed webhooks."""

import datetime as dt
import json

import pytest
from django.test import RequestFactory
from django.utils import timezone

from engage.events.models import Event
from engage.messaging.models import Message, MessageDecision, MessageTemplate
from engage.messaging.rendering import Content
from engage.messaging.sending import send_message
from engage.messaging.services import create_message
from engage.plugins.base import SettingsError
from engage.plugins.provider_http import ProviderRejected
from engage.plugins.services import configure_plugin
from plugins.whatsapp import (
    OutsideServiceWindow,
    WhatsAppChannel,
    hub_signature,
    in_service_window,
)

from .providers import FakeMeta

PHONE_ID = "106540352242922"
TOKEN = "meta-access-token"
APP_SECRET = "meta-app-secret"
VERIFY = "my-verify-token"
SETTINGS = {
    "phone_number_id": PHONE_ID,
    "access_token": TOKEN,
    "app_secret": APP_SECRET,
    "verify_token": VERIFY,
}


@pytest.fixture
def meta(loopback_allowed):
    server = FakeMeta(PHONE_ID, TOKEN)
    yield server
    server.close()


def whatsapp(url="https://graph.facebook.com", **extra) -> WhatsAppChannel:
    return WhatsAppChannel(
        WhatsAppChannel.validate_settings({**SETTINGS, "api_base_url": url, **extra})
    )


def inbound_notification(
    wa_id="14155552671", text="Hi, where is my order?", at=None, msg_id="wamid.IN1"
):
    at = at or timezone.now()
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_ID,
                            },
                            "contacts": [{"profile": {"name": "Ada"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": msg_id,
                                    "timestamp": str(int(at.timestamp())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def status_notification(wamid, status, errors=None):
    item = {"id": wamid, "status": status, "timestamp": "1750000000", "recipient_id": "14155552671"}
    if errors:
        item["errors"] = errors
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"statuses": [item]}}]}],
    }


def signed(body: dict, secret=APP_SECRET, path="/hooks/1/whatsapp/"):
    raw = json.dumps(body).encode()
    return RequestFactory().post(
        path,
        raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=hub_signature(secret, raw),
    )


def customer_wrote(profile, hours_ago: float):
    Event.objects.create(
        workspace=profile.workspace,
        profile=profile,
        origin_profile_id=profile.pk,
        message_id=f"wa-in-{hours_ago}",
        type="track",
        name="WhatsApp Message Received",
        timestamp=timezone.now() - dt.timedelta(hours=hours_ago),
        received_at=timezone.now(),
        processed_at=timezone.now(),
    )


def test_inside_the_window_sends_free_text(meta, make_message, customer):
    customer_wrote(customer, hours_ago=23)
    channel = whatsapp(meta.url)
    result = channel.send(
        message=make_message("whatsapp", body="It ships today"), address="+14155552671"
    )
    [req] = meta.accepted
    assert req.path == f"/v21.0/{PHONE_ID}/messages"
    assert req.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "14155552671",
        "type": "text",
        "text": {"preview_url": False, "body": "It ships today"},
    }
    assert result.provider_message_id.startswith("wamid.")


def test_outside_the_window_sends_the_approved_template(meta, make_message, customer):
    customer_wrote(customer, hours_ago=25)
    template = MessageTemplate.objects.create(
        workspace=customer.workspace, name="order_update", channel="whatsapp", body="x"
    )
    message = make_message("whatsapp", body="", template=template, locale="pt-BR")
    whatsapp(meta.url).send(message=message, address="+14155552671")
    [req] = meta.accepted
    assert req.json["type"] == "template"
    assert req.json["template"] == {"name": "order_update", "language": {"code": "pt_BR"}}


def test_template_parameters_come_one_per_line_of_the_rendered_body(meta, make_message, customer):
    customer_wrote(customer, hours_ago=25)
    template = MessageTemplate.objects.create(
        workspace=customer.workspace, name="order_update", channel="whatsapp", body="x"
    )
    message = make_message("whatsapp", body="Ada\n\n  A-1001 \n", template=template)
    whatsapp(meta.url).send(message=message, address="+14155552671")
    [req] = meta.accepted
    assert req.json["template"]["components"] == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "A-1001"}],
        }
    ]


def test_outside_the_window_without_template_is_refused_unsent(meta, make_message, customer):
    with pytest.raises(OutsideServiceWindow, match="outside_service_window"):
        whatsapp(meta.url).send(message=make_message("whatsapp"), address="+14155552671")
    assert meta.requests == []


def test_meta_errors_are_permanent_with_the_code(meta, make_message, customer):
    customer_wrote(customer, hours_ago=1)
    with pytest.raises(ProviderRejected) as exc:
        whatsapp(meta.url, access_token="expired").send(
            message=make_message("whatsapp"), address="+14155552671"
        )
    assert exc.value.code == "190"


def test_signature_good_tampered_and_wrong_secret():
    channel = whatsapp()
    assert channel.verify_webhook(signed(inbound_notification()))
    assert not channel.verify_webhook(signed(inbound_notification(), secret="other"))
    request = signed(inbound_notification())
    request._body = request.body.replace(b"where is my order", b"STOP STOP STOP STOP")
    assert not channel.verify_webhook(request)


def test_parses_inbound_messages_and_statuses():
    channel = whatsapp()
    [inbound] = channel.parse_webhook(signed(inbound_notification()))
    assert (inbound.kind, inbound.address, inbound.text) == (
        "inbound",
        "+14155552671",
        "Hi, where is my order?",
    )
    errors = [{"code": 131047, "title": "Re-engagement message"}]
    [failed] = channel.parse_webhook(signed(status_notification("wamid.A", "failed", errors)))
    assert (failed.kind, failed.provider_message_id, failed.detail["error_code"]) == (
        "failed",
        "wamid.A",
        "131047",
    )
    [read] = channel.parse_webhook(signed(status_notification("wamid.A", "read")))
    assert read.kind == "opened"
    assert channel.parse_webhook(signed(status_notification("wamid.A", "sent"))) == []
    with pytest.raises(ValueError, match="WhatsApp"):
        channel.parse_webhook(signed({"object": "page"}))


@pytest.fixture
def hook(workspace):
    configure_plugin(workspace=workspace.workspace, plugin_id="whatsapp", settings=SETTINGS)
    return f"/hooks/{workspace.workspace.pk}/whatsapp/"


def test_verification_challenge(client, hook):
    ok = client.get(
        hook, {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    )
    assert (ok.status_code, ok.content) == (200, b"1158201444")
    bad = client.get(
        hook, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
    )
    assert bad.status_code == 403


def test_inbound_message_reopens_the_window(client, hook, meta, customer, make_message):
    customer_wrote(customer, hours_ago=30)
    channel = whatsapp(meta.url)
    assert not in_service_window(customer)

    raw = json.dumps(inbound_notification()).encode()
    response = client.post(
        hook,
        raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=hub_signature(APP_SECRET, raw),
    )
    assert response.status_code == 200
    event = Event.objects.get(
        profile=customer, name="WhatsApp Message Received", message_id__contains="wamid.IN1"
    )
    assert event.properties["text"] == "Hi, where is my order?"
    assert in_service_window(customer)
    channel.send(message=make_message("whatsapp", body="Tomorrow"), address="+14155552671")
    assert meta.accepted[-1].json["type"] == "text"


def test_read_status_marks_the_message_opened(client, hook, make_message):
    message = make_message("whatsapp", status=Message.SENT, provider_message_id="wamid.OUT")
    raw = json.dumps(status_notification("wamid.OUT", "read")).encode()
    client.post(
        hook,
        raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=hub_signature(APP_SECRET, raw),
    )
    message.refresh_from_db()
    assert message.status == Message.OPENED


def test_settings_errors_name_the_field():
    with pytest.raises(SettingsError) as exc:
        WhatsAppChannel.validate_settings({**SETTINGS, "phone_number_id": "+1 555"})
    assert exc.value.errors == {"phone_number_id": "must be digits (the id, not the phone number)"}


def test_pipeline_skips_free_text_outside_the_window_with_its_reason(meta, workspace, customer):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="whatsapp",
        settings={**SETTINGS, "api_base_url": meta.url},
    )
    created = create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="whatsapp",
        category=Message.TRANSACTIONAL,
        content=Content(body="Hello {{ traits.first_name }}"),
        send_now=False,
    )
    assert send_message(created.message.pk) is None
    created.message.refresh_from_db()
    assert created.message.status == Message.SKIPPED
    assert MessageDecision.objects.get(message=created.message).reason == "outside_service_window"
    assert meta.requests == []

    customer_wrote(customer, hours_ago=2)
    second = create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="whatsapp",
        category=Message.TRANSACTIONAL,
        content=Content(body="Hello {{ traits.first_name }}"),
        send_now=False,
    )
    assert send_message(second.message.pk) == Message.SENT
    assert meta.accepted[-1].json["text"]["body"] == "Hello Ada"


def test_a_reply_to_our_message_marks_it_replied(client, hook, make_message, customer):
    message = make_message("whatsapp", status=Message.DELIVERED, provider_message_id="wamid.OUT2")
    notification = inbound_notification(text="Yes please", msg_id="wamid.IN9")
    item = notification["entry"][0]["changes"][0]["value"]["messages"][0]
    item["context"] = {"from": "15550783881", "id": "wamid.OUT2"}
    raw = json.dumps(notification).encode()
    response = client.post(
        hook,
        raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=hub_signature(APP_SECRET, raw),
    )
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Message.REPLIED and message.replied_at is not None
    names = set(Event.objects.filter(profile=customer).values_list("name", flat=True))
    assert {"WhatsApp Replied", "WhatsApp Message Received"} <= names
