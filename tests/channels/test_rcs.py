"""RCS through Twilio with a fallback to SMS for handsets that cannot receive it."""

import pytest

from engage.plugins.provider_http import ProviderRejected
from plugins.rcs import RCSChannel

from .conftest import ACCOUNT_SID, AUTH_TOKEN
from .twilio_helpers import signed_post


def rcs(url) -> RCSChannel:
    return RCSChannel(
        RCSChannel.validate_settings(
            {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from_number": "+14155550123",
                "rcs_sender_id": "acme_agent",
                "api_base_url": url,
            }
        )
    )


def test_capable_handset_gets_rcs(twilio, make_message, customer):
    result = rcs(twilio.url).send(
        message=make_message("rcs", body="Rich hello"), address="+14155552671"
    )
    [req] = twilio.accepted
    assert (req.form["To"], req.form["From"]) == ("rcs:+14155552671", "rcs:acme_agent")
    assert result.detail == {"sent_as": "rcs"}


def test_provider_says_not_capable_falls_back_to_sms(twilio, make_message):
    twilio.rcs_incapable.add("+14155552671")
    result = rcs(twilio.url).send(message=make_message("rcs", body="Hello"), address="+14155552671")
    assert [status for status, _ in twilio.rejections] == [400]
    [sms] = twilio.accepted
    assert (sms.form["To"], sms.form["From"], sms.form["Body"]) == (
        "+14155552671",
        "+14155550123",
        "Hello",
    )
    assert result.detail["sent_as"] == "sms"
    assert "63106" in result.detail["fallback_reason"]
    assert result.provider_message_id.startswith("SM")


def test_profile_known_not_capable_goes_straight_to_sms(twilio, make_message, customer):
    customer.traits["rcs_capable"] = False
    customer.save()
    result = rcs(twilio.url).send(message=make_message("rcs"), address="+14155552671")
    [req] = twilio.requests
    assert req.form["From"] == "+14155550123"
    assert result.detail["fallback_reason"] == "profile is not RCS-capable"


def test_other_rejections_do_not_fall_back(twilio, make_message):
    twilio.fail_next(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})
    with pytest.raises(ProviderRejected, match="21610"):
        rcs(twilio.url).send(message=make_message("rcs"), address="+14155552671")
    assert len(twilio.requests) == 1


def test_rcs_replies_and_stop_are_read_like_sms():
    params = {"MessageSid": "SMr1", "From": "rcs:+14155552671", "To": "rcs:acme_agent"}
    channel = rcs("https://api.twilio.com")
    [stop] = channel.parse_webhook(signed_post("/hooks/1/rcs/", {**params, "Body": "STOP"}))
    assert (stop.kind, stop.address) == ("opted_out", "+14155552671")
    [reply] = channel.parse_webhook(signed_post("/hooks/1/rcs/", {**params, "Body": "Track it"}))
    assert (reply.kind, reply.text) == ("inbound", "Track it")
