"""RCS through Twilio's Messages API, falling back to SMS.

RCS goes out from the brand's verified RCS sender (``From=rcs:<sender id>``,
``To=rcs:<number>``). Not every handset can receive it, so the channel sends
a plain SMS from the fallback number instead when the profile says the
device cannot (trait ``rcs_capable`` false), or when Twilio answers that the
number is not RCS-capable (error 63106). The message keeps the ``rcs``
channel; its result says which way it went.
"""

from engage.plugins import hookimpl
from engage.plugins.base import Capabilities, Channel, SendResult, SettingField, WebhookSignal
from engage.plugins.provider_http import ProviderRejected

from .twilio_sms import HELP_TEXT, TwilioSettingsMixin, inbound_signal, status_signal

# Twilio: "phone_number is not a RCS capable number".
NOT_RCS_CAPABLE = frozenset({"63106"})
CAPABILITY_TRAIT = "rcs_capable"


class RCSChannel(TwilioSettingsMixin, Channel):
    id = "rcs"
    name = "RCS (Twilio, SMS fallback)"
    label = "RCS"
    address_kind = "phone"
    address_trait = "phone"
    capabilities = Capabilities(two_way=True, rich_content=True, max_length=3072, needs_opt_in=True)
    settings_schema = (
        *TwilioSettingsMixin.twilio_settings,
        HELP_TEXT,
        SettingField("rcs_sender_id", required=True, help="The verified RCS sender's id."),
    )

    def send(self, *, message, address: str) -> SendResult:
        if (message.profile.traits or {}).get(CAPABILITY_TRAIT) is False:
            return self._sms(message, address, reason="profile is not RCS-capable")
        try:
            resource = self.twilio_post(
                "Messages.json",
                {
                    "To": f"rcs:{address}",
                    "From": f"rcs:{self.settings['rcs_sender_id']}",
                    "Body": message.body,
                },
            )
        except ProviderRejected as exc:
            if exc.code not in NOT_RCS_CAPABLE:
                raise
            return self._sms(message, address, reason=str(exc))
        return SendResult(provider_message_id=resource["sid"], detail={"sent_as": "rcs"})

    def _sms(self, message, address: str, *, reason: str) -> SendResult:
        resource = self.twilio_post(
            "Messages.json",
            {"To": address, "From": self.settings["from_number"], "Body": message.body},
        )
        return SendResult(
            provider_message_id=resource["sid"],
            detail={"sent_as": "sms", "fallback_reason": reason},
        )

    def parse_webhook(self, request) -> list[WebhookSignal]:
        signal = status_signal(request) or inbound_signal(request)
        return [signal] if signal else []


@hookimpl
def engage_channels():
    return [RCSChannel]
