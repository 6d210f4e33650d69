"""Voice: a phone call that reads the message aloud, through Twilio's Calls API.

A send is a form-encoded POST to ``/2010-04-01/Accounts/{AccountSid}/Calls.json``
with inline TwiML (``<Response><Say>…</Say></Response>``), so no public
TwiML URL is needed. Call status callbacks (completed, busy, no-answer,
failed) arrive signed with ``X-Twilio-Signature`` like SMS webhooks.
"""

from xml.sax.saxutils import escape, quoteattr

from engage.plugins import hookimpl
from engage.plugins.base import (
    Capabilities,
    Channel,
    PermanentSendError,
    SendResult,
    SettingField,
    WebhookSignal,
)

from .twilio_sms import TwilioSettingsMixin, status_signal

# Twilio's limit on the Twiml parameter is 4,000 characters, markup included.
MAX_TWIML = 4000


def say_twiml(text: str, *, voice: str, language: str) -> str:
    return (
        f"<Response><Say voice={quoteattr(voice)} language={quoteattr(language)}>"
        f"{escape(text)}</Say></Response>"
    )


class TwilioVoiceChannel(TwilioSettingsMixin, Channel):
    id = "voice"
    name = "Voice call (Twilio)"
    label = "Voice"
    address_kind = "phone"
    address_trait = "phone"
    capabilities = Capabilities(two_way=False, rich_content=False, max_length=3500)
    settings_schema = (
        *TwilioSettingsMixin.twilio_settings,
        SettingField(
            "voice", default="alice", help="Twilio <Say> voice, e.g. alice, Polly.Joanna."
        ),
        SettingField("default_language", default="en-US"),
    )

    def send(self, *, message, address: str) -> SendResult:
        twiml = say_twiml(
            message.body,
            voice=self.settings["voice"],
            language=message.locale or self.settings["default_language"],
        )
        if len(twiml) > MAX_TWIML:
            raise PermanentSendError(f"body: too long to read aloud ({len(twiml)} > {MAX_TWIML})")
        call = self.twilio_post(
            "Calls.json", {"To": address, "From": self.settings["from_number"], "Twiml": twiml}
        )
        return SendResult(provider_message_id=call["sid"], detail={"status": call.get("status")})

    def parse_webhook(self, request) -> list[WebhookSignal]:
        signal = status_signal(request)
        return [signal] if signal else []


@hookimpl
def engage_channels():
    return [TwilioVoiceChannel]
