"""SMS through Twilio's Messages API (or anything that speaks its format).

Sends are a form-encoded POST to ``/2010-04-01/Accounts/{AccountSid}/Messages.json``
with HTTP Basic auth ``AccountSid:AuthToken``. Twilio calls the channel's
webhook URL (``/hooks/<workspace>/sms/``) for inbound messages and for
status callbacks; both are signed with ``X-Twilio-Signature``.

Opt-out keywords are the ones carriers and Twilio honour: a message that is
exactly STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT opts the sender out,
START, YES or UNSTOP opts them back in, and HELP gets the help text as a
TwiML reply.
"""

import base64
import hashlib
import hmac
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone

from engage.plugins import hookimpl, provider_http
from engage.plugins.base import Capabilities, Channel, SendResult, SettingField, WebhookSignal

TWILIO_API = "https://api.twilio.com"
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# MessageStatus / CallStatus values that become delivery signals; the others
# (queued, sending, sent, ringing, in-progress...) are steps on the way.
STATUS_SIGNALS = {
    "delivered": "delivered",
    "read": "opened",
    "undelivered": "failed",
    "failed": "failed",
    "completed": "delivered",
    "busy": "failed",
    "no-answer": "failed",
    "canceled": "failed",
}


def twilio_signature(auth_token: str, url: str, params: dict[str, list[str]]) -> str:
    """Twilio's request signature: base64 HMAC-SHA1 over the full URL followed by
    every POST parameter name and value, sorted by name."""
    data = url
    for name in sorted(params):
        for value in sorted(params[name]):
            data += name + value
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def request_urls(request) -> list[str]:
    """The URLs the provider may have called: the one this request arrived at,
    and, behind a proxy that changes scheme or host, the same path under
    ``ENGAGE_PUBLIC_URL``."""
    urls = [request.build_absolute_uri()]
    public = getattr(settings, "ENGAGE_PUBLIC_URL", "")
    if public:
        urls.append(public.rstrip("/") + request.get_full_path())
    return urls


def _url_variants(url: str) -> list[str]:
    """The URL with and without its default port: Twilio signs whichever form
    was configured, and proxies may add or strip ``:443``."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    bare = urlunsplit(parts._replace(netloc=host))
    ported = urlunsplit(parts._replace(netloc=f"{host}:{parts.port or default}"))
    return [url, bare, ported]


def verify_twilio_request(request, auth_token: str) -> bool:
    given = request.headers.get("X-Twilio-Signature", "")
    if not given or not auth_token:
        return False
    params = {name: request.POST.getlist(name) for name in request.POST}
    return any(
        hmac.compare_digest(given, twilio_signature(auth_token, url, params))
        for base in request_urls(request)
        for url in _url_variants(base)
    )


def status_signal(request) -> WebhookSignal | None:
    """A status callback (messages or calls) as a delivery signal, or None."""
    sid = request.POST.get("MessageSid") or request.POST.get("CallSid", "")
    status = request.POST.get("MessageStatus") or request.POST.get("CallStatus", "")
    kind = STATUS_SIGNALS.get(status)
    if not sid or kind is None:
        return None
    detail = {"status": status}
    if request.POST.get("ErrorCode"):
        detail["error_code"] = request.POST["ErrorCode"]
    return WebhookSignal(
        kind=kind,
        provider_event_id=f"{sid}:{status}",
        provider_message_id=sid,
        address=request.POST.get("To", ""),
        occurred_at=timezone.now(),
        detail=detail,
    )


def keyword_of(text: str) -> str:
    return " ".join(text.split()).upper()


def inbound_signal(request) -> WebhookSignal | None:
    """An incoming text as a signal: an opt-out or opt-in when it is exactly one
    of the keywords, else an inbound message (HELP flagged for the reply).

    The sender may carry Twilio's channel prefix (``rcs:+1…``); the address
    is the bare number, so it finds the customer's phone identity.
    """
    sid = request.POST.get("MessageSid", "")
    sender = request.POST.get("From", "").removeprefix("rcs:")
    if not sid or not sender or "Body" not in request.POST:
        return None
    text = request.POST["Body"]
    keyword = keyword_of(text)
    kind = "inbound"
    detail = {"to": request.POST.get("To", "")}
    if keyword in OPT_OUT_KEYWORDS:
        kind = "opted_out"
    elif keyword in OPT_IN_KEYWORDS:
        kind = "opted_in"
    elif keyword in HELP_KEYWORDS:
        detail["keyword"] = "help"
    return WebhookSignal(
        kind=kind,
        provider_event_id=sid,
        address=sender,
        text=text,
        occurred_at=timezone.now(),
        detail=detail,
    )


HELP_TEXT = SettingField(
    "help_text",
    default="Reply STOP to unsubscribe. Msg & data rates may apply.",
    help="The reply to HELP.",
)


class TwilioSettingsMixin:
    """Settings and plumbing shared by the Twilio channels (SMS, RCS, voice)."""

    twilio_settings = (
        SettingField("account_sid", required=True, help="Twilio Account SID (AC...)."),
        SettingField("auth_token", required=True, secret=True, help="Twilio Auth Token."),
        SettingField("from_number", required=True, help="Sender number, E.164 (+15551234567)."),
        SettingField("api_base_url", type="url", default=TWILIO_API),
        SettingField(
            "status_callback_url",
            type="url",
            help="Public URL of this channel's webhook, for delivery status callbacks.",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        errors = {}
        if not settings["account_sid"].startswith("AC"):
            errors["account_sid"] = "must start with AC"
        if not settings["from_number"].startswith("+"):
            errors["from_number"] = "must be an E.164 number starting with +"
        return errors

    def twilio_post(self, resource: str, form: dict) -> dict:
        sid = self.settings["account_sid"]
        if self.settings.get("status_callback_url"):
            form = {**form, "StatusCallback": self.settings["status_callback_url"]}
        response = provider_http.post(
            f"{self.settings['api_base_url'].rstrip('/')}/2010-04-01/Accounts/{sid}/{resource}",
            data=form,
            auth=(sid, self.settings["auth_token"]),
        )
        return response.json()

    def verify_webhook(self, request) -> bool:
        return verify_twilio_request(request, self.settings["auth_token"])

    def webhook_response(self, signals) -> HttpResponse:
        """TwiML, which Twilio expects from every webhook: the help text when
        someone texted HELP, else an empty response."""
        reply = ""
        help_text = self.settings.get("help_text")
        if help_text and any(s.detail.get("keyword") == "help" for s in signals):
            reply = f"<Message>{escape(help_text)}</Message>"
        return HttpResponse(
            f'<?xml version="1.0" encoding="UTF-8"?><Response>{reply}</Response>',
            content_type="text/xml",
        )


class TwilioSMSChannel(TwilioSettingsMixin, Channel):
    id = "sms"
    name = "SMS (Twilio)"
    label = "SMS"
    address_kind = "phone"
    address_trait = "phone"
    capabilities = Capabilities(
        two_way=True, rich_content=False, max_length=1600, needs_opt_in=True
    )
    settings_schema = (*TwilioSettingsMixin.twilio_settings, HELP_TEXT)

    def send(self, *, message, address: str) -> SendResult:
        resource = self.twilio_post(
            "Messages.json",
            {"To": address, "From": self.settings["from_number"], "Body": message.body},
        )
        return SendResult(
            provider_message_id=resource["sid"], detail={"status": resource.get("status")}
        )

    def parse_webhook(self, request) -> list[WebhookSignal]:
        signal = status_signal(request) or inbound_signal(request)
        return [signal] if signal else []


@hookimpl
def engage_channels():
    return [TwilioSMSChannel]
