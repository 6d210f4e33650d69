"""WhatsApp through Meta's Cloud API.

A send is a JSON POST to ``/{version}/{phone-number-id}/messages`` with the
access token as a Bearer token. WhatsApp allows free-form text only inside
the 24-hour customer-service window, which opens each time the customer
writes to the business; outside it, only a template Meta has approved. So
this channel sends text when the customer's last inbound WhatsApp message
(the "WhatsApp Message Received" event on their profile) is under 24 hours
old, and otherwise sends the message's template by name, in the message's
locale. A message without a template outside the window is refused with
``outside_service_window``.

Meta calls the webhook URL with a GET to verify the subscription
(``hub.challenge``), then POSTs inbound messages and statuses signed with
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret).
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone

from engage.events.models import Event
from engage.messaging.policy import SKIP, Decision
from engage.messaging.timeline import event_name
from engage.plugins import hookimpl, provider_http
from engage.plugins.base import (
    Capabilities,
    Channel,
    PermanentSendError,
    SendResult,
    SettingField,
    WebhookSignal,
)

GRAPH_API = "https://graph.facebook.com"
SERVICE_WINDOW = timedelta(hours=24)
STATUS_SIGNALS = {"delivered": "delivered", "read": "opened", "failed": "failed"}


class OutsideServiceWindow(PermanentSendError):
    """Free-form text outside the 24-hour window, and no approved template to send."""


def hub_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _inbound_text(item: dict) -> str:
    kind = item.get("type", "")
    if kind == "text":
        return item.get("text", {}).get("body", "")
    if kind == "button":
        return item.get("button", {}).get("text", "")
    if kind == "interactive":
        reply = item.get("interactive", {})
        return (reply.get("button_reply") or reply.get("list_reply") or {}).get("title", "")
    return ""


def _timestamp(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError):
        return None


def _phone(wa_id: str) -> str:
    """WhatsApp ids are E.164 numbers without the plus."""
    return wa_id if wa_id.startswith("+") else f"+{wa_id}"


def in_service_window(profile, now=None) -> bool:
    """Whether the customer wrote to the business on WhatsApp in the last 24 hours."""
    now = now or timezone.now()
    return Event.objects.filter(
        profile=profile,
        name=event_name(WhatsAppChannel.event_label(), "inbound"),
        timestamp__gt=now - SERVICE_WINDOW,
    ).exists()


class WhatsAppChannel(Channel):
    id = "whatsapp"
    name = "WhatsApp (Meta Cloud API)"
    label = "WhatsApp"
    address_kind = "phone"
    address_trait = "phone"
    capabilities = Capabilities(two_way=True, rich_content=True, max_length=4096, needs_opt_in=True)
    settings_schema = (
        SettingField("phone_number_id", required=True, help="The business phone number's id."),
        SettingField("access_token", required=True, secret=True, help="System user token."),
        SettingField("app_secret", required=True, secret=True, help="Checks X-Hub-Signature-256."),
        SettingField(
            "verify_token",
            required=True,
            secret=True,
            help="The token you entered in Meta's webhook settings.",
        ),
        SettingField("api_base_url", type="url", default=GRAPH_API),
        SettingField("api_version", default="v21.0"),
        SettingField("default_language", default="en_US", help="Template language by default."),
    )

    @classmethod
    def check_settings(cls, settings):
        if not settings["phone_number_id"].isdigit():
            return {"phone_number_id": "must be digits (the id, not the phone number)"}
        return {}

    def payload_for(self, message, address: str) -> dict:
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": address.lstrip("+"),
        }
        if in_service_window(message.profile):
            payload["type"] = "text"
            payload["text"] = {"preview_url": False, "body": message.body}
            return payload
        if message.template_id is None:
            raise OutsideServiceWindow(
                "outside_service_window: the customer has not written in 24 hours "
                "and the message has no approved template"
            )
        language = (message.locale or self.settings["default_language"]).replace("-", "_")
        payload["type"] = "template"
        payload["template"] = {"name": message.template.name, "language": {"code": language}}
        # The rendered body of a WhatsApp template holds its parameters, one
        # per line: line N fills {{N}} of the template Meta approved.
        parameters = [line.strip() for line in message.body.splitlines() if line.strip()]
        if parameters:
            payload["template"]["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
            ]
        return payload

    def send(self, *, message, address: str) -> SendResult:
        base = self.settings["api_base_url"].rstrip("/")
        response = provider_http.post(
            f"{base}/{self.settings['api_version']}/{self.settings['phone_number_id']}/messages",
            json=self.payload_for(message, address),
            headers={"Authorization": f"Bearer {self.settings['access_token']}"},
        )
        body = response.json()
        try:
            wamid = body["messages"][0]["id"]
        except (KeyError, IndexError, TypeError):
            raise PermanentSendError(f"unexpected answer from Meta: {body!r:.200}") from None
        return SendResult(provider_message_id=wamid)

    def webhook_challenge(self, request):
        if request.GET.get("hub.mode") != "subscribe":
            return None
        given = request.GET.get("hub.verify_token", "")
        if not hmac.compare_digest(given, self.settings["verify_token"]):
            return HttpResponseForbidden("verify token mismatch")
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")

    def verify_webhook(self, request) -> bool:
        given = request.headers.get("X-Hub-Signature-256", "")
        expected = hub_signature(self.settings["app_secret"], request.body)
        return bool(given) and hmac.compare_digest(given, expected)

    def parse_webhook(self, request) -> list[WebhookSignal]:
        try:
            payload = json.loads(request.body)
        except ValueError:
            raise ValueError("not JSON") from None
        if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
            raise ValueError("not a WhatsApp Business Account notification")
        signals = []
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                if change.get("field") != "messages":
                    continue
                value = change.get("value") or {}
                signals += self._inbound(value) + self._statuses(value)
        return signals

    def _inbound(self, value: dict) -> list[WebhookSignal]:
        """Each inbound message; one that answers a message of ours (a reply, a
        button tap: ``context.id``) also marks that message ``replied``."""
        signals = []
        for item in value.get("messages") or []:
            if not (item.get("id") and item.get("from")):
                continue
            address = _phone(item["from"])
            at = _timestamp(item.get("timestamp"))
            signals.append(
                WebhookSignal(
                    kind="inbound",
                    provider_event_id=item["id"],
                    address=address,
                    text=_inbound_text(item),
                    occurred_at=at,
                    detail={"type": item.get("type", "")},
                )
            )
            answered = (item.get("context") or {}).get("id")
            if answered:
                signals.append(
                    WebhookSignal(
                        kind="replied",
                        provider_event_id=f"{item['id']}:replied",
                        provider_message_id=answered,
                        address=address,
                        occurred_at=at,
                    )
                )
        return signals

    def _statuses(self, value: dict) -> list[WebhookSignal]:
        signals = []
        for item in value.get("statuses") or []:
            kind = STATUS_SIGNALS.get(item.get("status"))
            if kind is None or not item.get("id"):
                continue
            detail = {"status": item["status"]}
            if item.get("errors"):
                detail["error_code"] = str(item["errors"][0].get("code", ""))
                detail["error"] = item["errors"][0].get("title", "")
            signals.append(
                WebhookSignal(
                    kind=kind,
                    provider_event_id=f"{item['id']}:{item['status']}",
                    provider_message_id=item["id"],
                    address=_phone(item.get("recipient_id", ""))
                    if item.get("recipient_id")
                    else "",
                    occurred_at=_timestamp(item.get("timestamp")),
                    detail=detail,
                )
            )
        return signals


@hookimpl
def engage_channels():
    return [WhatsAppChannel]


@hookimpl
def engage_check_send(message, profile, now):
    """Skip, with its reason, a message that could only go as free text outside
    the window, before it is claimed for sending."""
    if message.channel != WhatsAppChannel.id or message.template_id is not None:
        return None
    if in_service_window(profile, now):
        return None
    return Decision(
        SKIP,
        "outside_service_window",
        "no WhatsApp message from the customer in 24 hours and no approved template",
    )
