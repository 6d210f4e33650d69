"""SMS through Twilio's Messages API format, inbound keywords and status callbacks."""

import pytest

from engage.plugins.base import SettingsError, TransientSendError
from engage.plugins.provider_http import ProviderRejected
from plugins.twilio_sms import TwilioSMSChannel, twilio_signature

from .conftest import ACCOUNT_SID, AUTH_TOKEN
from .twilio_helpers import signed_post

HOOK = "/hooks/1/sms/"


def sms(twilio_url: str = "https://api.twilio.com", **extra) -> TwilioSMSChannel:
    settings = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": "+14155550123",
        "api_base_url": twilio_url,
        **extra,
    }
    return TwilioSMSChannel(TwilioSMSChannel.validate_settings(settings))


def test_send_posts_twilio_messages_format(twilio, make_message, customer):
    channel = sms(twilio.url, status_callback_url="https://engage.example.com/hooks/1/sms/")
    address = channel.address_for(customer)

    result = channel.send(message=make_message("sms", body="Code 1234"), address=address)

    [req] = twilio.accepted
    assert req.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert req.form == {
        "To": "+14155552671",
        "From": "+14155550123",
        "Body": "Code 1234",
        "StatusCallback": "https://engage.example.com/hooks/1/sms/",
    }
    assert result.provider_message_id.startswith("SM")


def test_provider_rejections_keep_twilio_error_code(twilio, make_message):
    twilio.fail_next(
        400, {"code": 21211, "message": "The 'To' number is not a valid phone number."}
    )
    with pytest.raises(ProviderRejected) as exc:
        sms(twilio.url).send(message=make_message("sms"), address="+1555")
    assert exc.value.code == "21211"
    assert "not a valid phone number" in str(exc.value)


def test_wrong_credentials_are_permanent_and_throttling_transient(twilio, make_message):
    channel = sms(twilio.url, auth_token="wrong")
    with pytest.raises(ProviderRejected, match="HTTP 401 20003"):
        channel.send(message=make_message("sms"), address="+14155552671")
    twilio.fail_next(429, {"code": 20429, "message": "Too Many Requests"})
    with pytest.raises(TransientSendError):
        sms(twilio.url).send(message=make_message("sms"), address="+14155552671")


def test_signature_matches_twilios_published_example():
    # The example from Twilio's request-validation documentation and SDK tests.
    params = {
        "CallSid": ["CA1234567890ABCDE"],
        "Caller": ["+14158675309"],
        "Digits": ["1234"],
        "From": ["+14158675309"],
        "To": ["+18005551212"],
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_good_signature_accepted_tampered_or_missing_refused():
    params = {"MessageSid": "SM1", "From": "+14155552671", "To": "+14155550123", "Body": "hi"}
    channel = sms()
    assert channel.verify_webhook(signed_post(HOOK, params))
    assert not channel.verify_webhook(signed_post(HOOK, params, tamper={"Body": "STOP"}))
    assert not channel.verify_webhook(signed_post(HOOK, params, token="another-token"))
    unsigned = signed_post(HOOK, params)
    del unsigned.META["HTTP_X_TWILIO_SIGNATURE"]
    assert not channel.verify_webhook(unsigned)


def test_signature_checked_against_public_url_behind_a_proxy(settings):
    settings.ENGAGE_PUBLIC_URL = "https://engage.example.com"
    params = {"MessageSid": "SM1", "From": "+14155552671", "Body": "hi"}
    signature = twilio_signature(
        AUTH_TOKEN, "https://engage.example.com" + HOOK, {k: [v] for k, v in params.items()}
    )
    from django.test import RequestFactory

    request = RequestFactory().post(HOOK, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert sms().verify_webhook(request)


@pytest.mark.parametrize(
    "body,kind",
    [
        ("STOP", "opted_out"),
        (" stop ", "opted_out"),
        ("StopAll", "opted_out"),
        ("unsubscribe", "opted_out"),
        ("CANCEL", "opted_out"),
        ("end", "opted_out"),
        ("Quit", "opted_out"),
        ("START", "opted_in"),
        ("yes", "opted_in"),
        ("UNSTOP", "opted_in"),
        ("Please stop sending these", "inbound"),
        ("Where is my order?", "inbound"),
    ],
)
def test_inbound_keywords(body, kind):
    params = {"MessageSid": "SMin1", "From": "+14155552671", "To": "+14155550123", "Body": body}
    [signal] = sms().parse_webhook(signed_post(HOOK, params))
    assert (signal.kind, signal.address, signal.text) == (kind, "+14155552671", body)
    assert signal.provider_event_id == "SMin1"


def test_help_gets_the_help_text_as_twiml():
    channel = sms(help_text="Acme alerts: reply STOP to stop.")
    params = {"MessageSid": "SMin2", "From": "+14155552671", "Body": "help"}
    signals = channel.parse_webhook(signed_post(HOOK, params))
    response = channel.webhook_response(signals)
    assert response["Content-Type"] == "text/xml"
    assert b"<Message>Acme alerts: reply STOP to stop.</Message>" in response.content
    other = channel.parse_webhook(signed_post(HOOK, {**params, "Body": "thanks"}))
    assert b"<Message>" not in channel.webhook_response(other).content


@pytest.mark.parametrize(
    "status,kind",
    [
        ("delivered", "delivered"),
        ("undelivered", "failed"),
        ("failed", "failed"),
        ("read", "opened"),
    ],
)
def test_status_callbacks(status, kind):
    params = {"MessageSid": "SM42", "MessageStatus": status, "To": "+14155552671"}
    if kind == "failed":
        params["ErrorCode"] = "30003"
    [signal] = sms().parse_webhook(signed_post(HOOK, params))
    assert (signal.kind, signal.provider_message_id) == (kind, "SM42")
    assert signal.provider_event_id == f"SM42:{status}"
    assert signal.detail.get("error_code") == params.get("ErrorCode")


def test_intermediate_statuses_are_not_signals():
    params = {"MessageSid": "SM42", "MessageStatus": "sent"}
    assert sms().parse_webhook(signed_post(HOOK, params)) == []


def test_settings_errors_name_the_field():
    with pytest.raises(SettingsError) as exc:
        TwilioSMSChannel.validate_settings(
            {"account_sid": "XX1", "auth_token": "t", "from_number": "1555"}
        )
    assert exc.value.errors == {
        "account_sid": "must start with AC",
        "from_number": "must be an E.164 number starting with +",
    }
    with pytest.raises(SettingsError) as exc:
        TwilioSMSChannel.validate_settings({"account_sid": ACCOUNT_SID})
    assert exc.value.errors == {"auth_token": "required", "from_number": "required"}
