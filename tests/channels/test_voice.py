"""Voice calls through Twilio's Calls API format, with TwiML <Say>."""

import xml.etree.ElementTree as ET

import pytest

from engage.plugins.base import PermanentSendError
from plugins.twilio_voice import TwilioVoiceChannel

from .conftest import ACCOUNT_SID, AUTH_TOKEN
from .twilio_helpers import signed_post


def voice(url) -> TwilioVoiceChannel:
    return TwilioVoiceChannel(
        TwilioVoiceChannel.validate_settings(
            {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from_number": "+14155550123",
                "api_base_url": url,
            }
        )
    )


def test_call_reads_the_text_aloud(twilio, make_message, customer):
    channel = voice(twilio.url)
    message = make_message("voice", body="Your code is 4 2 7 <urgent> & final", locale="en-GB")

    result = channel.send(message=message, address=channel.address_for(customer))

    [req] = twilio.accepted
    assert req.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert (req.form["To"], req.form["From"]) == ("+14155552671", "+14155550123")
    say = ET.fromstring(req.form["Twiml"]).find("Say")  # noqa: S314 (our own output)
    assert say.text == "Your code is 4 2 7 <urgent> & final"
    assert (say.get("voice"), say.get("language")) == ("alice", "en-GB")
    assert result.provider_message_id.startswith("CA")


def test_text_too_long_for_a_call_is_refused_unsent(twilio, make_message):
    with pytest.raises(PermanentSendError, match="too long"):
        voice(twilio.url).send(
            message=make_message("voice", body="x" * 5000), address="+14155552671"
        )
    assert twilio.requests == []


@pytest.mark.parametrize(
    "status,kind", [("completed", "delivered"), ("no-answer", "failed"), ("busy", "failed")]
)
def test_call_status_callbacks(status, kind):
    params = {"CallSid": "CA9", "CallStatus": status, "To": "+14155552671"}
    request = signed_post("/hooks/1/voice/", params)
    channel = voice("https://api.twilio.com")
    assert channel.verify_webhook(request)
    [signal] = channel.parse_webhook(request)
    assert (signal.kind, signal.provider_message_id) == (kind, "CA9")


def test_status_callbacks_are_answered_with_empty_twiml():
    response = voice("https://api.twilio.com").webhook_response([])
    assert response["Content-Type"] == "text/xml"
    assert response.content.endswith(b"<Response></Response>")
