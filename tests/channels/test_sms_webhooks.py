"""SMS webhooks end to end through engage's provider webhook endpoint."""

import pytest

from engage.events.models import Event
from engage.messaging.consent import current_status
from engage.messaging.models import Consent, Message
from engage.plugins.services import configure_plugin
from engage.privacy.services import erase_profile
from engage.profiles.models import Profile
from engage.profiles.selectors import profile_by_identifier
from plugins.twilio_sms import twilio_signature

from .conftest import ACCOUNT_SID, AUTH_TOKEN


@pytest.fixture
def sms_enabled(workspace):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="sms",
        settings={
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from_number": "+14155550123",
        },
    )
    return f"/hooks/{workspace.workspace.pk}/sms/"


def post_signed(client, path, params, token=AUTH_TOKEN):
    signature = twilio_signature(
        token, f"http://testserver{path}", {k: [v] for k, v in params.items()}
    )
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_stop_opts_the_customer_out_and_shows_on_the_timeline(client, sms_enabled, customer):
    params = {"MessageSid": "SMstop1", "From": "+14155552671", "To": "+14155550123", "Body": "STOP"}
    assert post_signed(client, sms_enabled, params).status_code == 200
    assert post_signed(client, sms_enabled, params).status_code == 200  # redelivered

    consent = Consent.objects.get(profile=customer)
    assert (consent.status, consent.channel, consent.source) == ("opted_out", "sms", "stop")
    assert Event.objects.filter(profile=customer, name="SMS Opted Out").count() == 1


def test_help_is_answered_with_twiml(client, sms_enabled, customer):
    params = {"MessageSid": "SMhelp", "From": "+14155552671", "Body": "HELP"}
    response = post_signed(client, sms_enabled, params)
    assert response.status_code == 200
    assert b"<Message>Reply STOP to unsubscribe." in response.content


def test_delivery_status_moves_the_message(client, sms_enabled, make_message):
    message = make_message("sms", status=Message.SENT, provider_message_id="SMout1")
    params = {"MessageSid": "SMout1", "MessageStatus": "delivered", "To": "+14155552671"}
    assert post_signed(client, sms_enabled, params).status_code == 200
    message.refresh_from_db()
    assert message.status == Message.DELIVERED and message.delivered_at is not None
    assert Event.objects.filter(profile=message.profile, name="SMS Delivered").exists()


def test_forged_webhook_is_refused_and_changes_nothing(client, sms_enabled, customer):
    params = {"MessageSid": "SMforged", "From": "+14155552671", "Body": "STOP"}
    response = post_signed(client, sms_enabled, params, token="not-the-token")
    assert response.status_code == 403
    assert not Consent.objects.filter(profile=customer).exists()


def test_stop_from_a_number_never_seen_sticks_to_that_number(client, sms_enabled, workspace):
    params = {"MessageSid": "SMnew", "From": "+14155559876", "To": "+14155550123", "Body": "STOP"}
    assert post_signed(client, sms_enabled, params).status_code == 200

    ws = workspace.workspace
    profile = profile_by_identifier(workspace=ws, kind="phone", value="+1 415 555 9876")
    assert profile is not None
    assert current_status(profile=profile, channel="sms", topic="marketing") == (Consent.OPTED_OUT)
    assert Event.objects.filter(profile=profile, name="SMS Opted Out").count() == 1


def test_a_delivery_report_for_an_unknown_number_creates_no_customer(client, sms_enabled):
    params = {"MessageSid": "SMx", "MessageStatus": "delivered", "To": "+14155559876"}
    assert post_signed(client, sms_enabled, params).status_code == 200
    assert not Profile.objects.exists()


def test_stop_from_an_erased_number_brings_nothing_back(client, sms_enabled, workspace, customer):
    erase_profile(profile=customer, requested_by="dpo")
    params = {"MessageSid": "SMgone", "From": "+14155552671", "To": "+14155550123", "Body": "STOP"}
    assert post_signed(client, sms_enabled, params).status_code == 200
    assert not Profile.objects.exists()
