"""Channels through engage's whole path: ingestion, consent, the send pipeline,
the provider's loopback server, its webhooks, and back to the profile."""

import json

from engage.events.models import Event
from engage.messaging.models import Message, MessageDecision
from engage.messaging.rendering import Content
from engage.messaging.sending import send_message
from engage.messaging.services import create_message
from engage.plugins.services import configure_plugin
from plugins.twilio_sms import twilio_signature
from tests.identity_helpers import profile_of, send

from .conftest import ACCOUNT_SID, AUTH_TOKEN, DEVICE, service_account

PHONE = "+14155552672"


def text_in(client, workspace, body: str, sid: str):
    path = f"/hooks/{workspace.pk}/sms/"
    params = {"MessageSid": sid, "From": PHONE, "To": "+14155550123", "Body": body}
    signature = twilio_signature(
        AUTH_TOKEN, f"http://testserver{path}", {k: [v] for k, v in params.items()}
    )
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def marketing_sms(workspace, profile) -> Message:
    message = create_message(
        workspace=workspace,
        profile=profile,
        channel="sms",
        category=Message.MARKETING,
        content=Content(body="Hi {{ traits.first_name }}, 20% off today"),
        send_now=False,
    ).message
    send_message(message.pk)
    message.refresh_from_db()
    return message


def test_sms_opt_in_send_delivery_and_stop(client, twilio, workspace):
    ws = workspace.workspace
    send(ws, "identify", user_id="u-9", traits={"first_name": "Grace", "phone": PHONE})
    profile = profile_of(ws, "phone", PHONE)
    configure_plugin(
        workspace=ws,
        plugin_id="sms",
        settings={
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from_number": "+14155550123",
            "api_base_url": twilio.url,
        },
    )

    # SMS marketing needs an opt-in: none yet, nothing sent.
    assert marketing_sms(ws, profile).status == Message.SKIPPED
    assert twilio.requests == []

    assert text_in(client, ws, "START", "SMin-1").status_code == 200
    sent = marketing_sms(ws, profile)
    assert sent.status == Message.SENT
    [req] = twilio.accepted
    assert (req.form["To"], req.form["Body"]) == (PHONE, "Hi Grace, 20% off today")

    path = f"/hooks/{ws.pk}/sms/"
    params = {"MessageSid": sent.provider_message_id, "MessageStatus": "delivered", "To": PHONE}
    signature = twilio_signature(
        AUTH_TOKEN, f"http://testserver{path}", {k: [v] for k, v in params.items()}
    )
    assert client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200
    sent.refresh_from_db()
    assert sent.status == Message.DELIVERED

    assert text_in(client, ws, "stop", "SMin-2").status_code == 200
    refused = marketing_sms(ws, profile)
    assert refused.status == Message.SKIPPED
    assert MessageDecision.objects.get(message=refused).reason == "opted_out"
    assert len(twilio.accepted) == 1
    names = set(Event.objects.filter(profile=profile).values_list("name", flat=True))
    assert {"SMS Opted In", "SMS Sent", "SMS Delivered", "SMS Opted Out"} <= names


def test_push_token_from_an_event_reaches_fcm(google, private_key, workspace):
    ws = workspace.workspace
    send(
        ws,
        "track",
        user_id="u-7",
        name="App Opened",
        context={"externalIds": [{"type": "push_token", "id": DEVICE, "collection": "users"}]},
    )
    profile = profile_of(ws, "user_id", "u-7")
    configure_plugin(
        workspace=ws,
        plugin_id="push",
        settings={
            "service_account_json": service_account(private_key, google.token_uri),
            "api_base_url": google.url,
        },
    )
    message = create_message(
        workspace=ws,
        profile=profile,
        channel="push",
        category=Message.TRANSACTIONAL,
        content=Content(subject="Acme", body="Your order is ready"),
        send_now=False,
    ).message
    assert send_message(message.pk) == Message.SENT
    [push] = [r for r in google.accepted if r.path.endswith("messages:send")]
    assert push.json["message"]["token"] == DEVICE
    assert json.loads(json.dumps(push.json["message"]["notification"])) == {
        "title": "Acme",
        "body": "Your order is ready",
    }


def test_a_customer_without_a_push_token_is_skipped_not_failed(
    google,
    private_key,
    workspace,
):
    ws = workspace.workspace
    send(ws, "identify", user_id="u-8", traits={"first_name": "Lin"})
    configure_plugin(
        workspace=ws,
        plugin_id="push",
        settings={"service_account_json": service_account(private_key, google.token_uri)},
    )
    message = create_message(
        workspace=ws,
        profile=profile_of(ws, "user_id", "u-8"),
        channel="push",
        category=Message.TRANSACTIONAL,
        content=Content(body="x"),
        send_now=False,
    ).message
    send_message(message.pk)
    message.refresh_from_db()
    assert message.status == Message.SKIPPED
    assert MessageDecision.objects.get(message=message).reason == "no_address"


def test_an_rcs_message_that_went_out_as_sms_says_so_on_the_timeline(twilio, workspace):
    ws = workspace.workspace
    send(ws, "identify", user_id="u-8", traits={"phone": PHONE})
    profile = profile_of(ws, "phone", PHONE)
    configure_plugin(
        workspace=ws,
        plugin_id="rcs",
        settings={
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from_number": "+14155550123",
            "rcs_sender_id": "acme_agent",
            "api_base_url": twilio.url,
        },
    )
    twilio.rcs_incapable.add(PHONE)
    message = create_message(
        workspace=ws,
        profile=profile,
        channel="rcs",
        category=Message.TRANSACTIONAL,
        content=Content(body="Your order has shipped"),
        send_now=False,
    ).message

    assert send_message(message.pk) == Message.SENT

    [sms] = twilio.accepted
    assert sms.form["From"] == "+14155550123"
    sent = Event.objects.get(profile=profile, name="RCS Sent")
    assert sent.properties["sent_as"] == "sms"
    assert "63106" in sent.properties["fallback_reason"]
    assert sent.properties["message_id"] == message.pk
