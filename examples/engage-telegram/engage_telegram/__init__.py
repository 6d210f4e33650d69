"""A Telegram channel for engage, packaged the way any third-party plugin is.

engage finds it through the ``engage.plugins`` entry point in this package's
pyproject.toml; it imports nothing from engage beyond the public plugin API
(``engage.plugins``, ``engage.plugins.base``, ``engage.plugins.outbound``).
"""

import hmac
import json
from datetime import UTC, datetime

import httpx

from engage.plugins import hookimpl, provider_http
from engage.plugins.base import (
    Capabilities,
    Channel,
    PermanentSendError,
    SendOutcomeUnknown,
    SendResult,
    SettingField,
    TransientSendError,
    WebhookSignal,
)
from engage.plugins.outbound import BlockedAddress

# Telegram's published limit for sendMessage text.
MAX_TEXT = 4096


class Telegram(Channel):
    id = "telegram"
    name = "Telegram"
    label = "Telegram"
    address_kind = "telegram"
    capabilities = Capabilities(two_way=True, max_length=MAX_TEXT)
    settings_schema = (
        SettingField("bot_token", required=True, secret=True, help="From @BotFather."),
        SettingField(
            "webhook_secret",
            secret=True,
            help="The secret_token given to setWebhook; checked on every update.",
        ),
        SettingField("api_base", "url", default="https://api.telegram.org"),
    )

    @classmethod
    def check_settings(cls, settings):
        token = settings["bot_token"]
        bot_id, _, secret = token.partition(":")
        if not (bot_id.isdigit() and secret):
            return {"bot_token": "expected <bot id>:<secret>, as @BotFather gives it"}
        return {}

    def send(self, *, message, address: str) -> SendResult:
        url = f"{self.settings['api_base'].rstrip('/')}/bot{self.settings['bot_token']}/sendMessage"
        payload = {"chat_id": address, "text": (message.body or message.subject)[:MAX_TEXT]}
        try:
            response = provider_http.client().post(url, json=payload)
        except BlockedAddress as exc:
            raise PermanentSendError(str(exc)) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransientSendError(f"cannot reach Telegram: {exc}") from exc
        except httpx.TransportError as exc:
            raise SendOutcomeUnknown(f"Telegram did not answer: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 200 and answer.get("ok"):
            return SendResult(provider_message_id=f"{address}:{answer['result']['message_id']}")
        reason = f"Telegram answered {response.status_code}: {answer.get('description', '')}"
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = (answer.get("parameters") or {}).get("retry_after")
            raise TransientSendError(reason, retry_after=retry_after)
        raise PermanentSendError(reason)

    def verify_webhook(self, request) -> bool:
        expected = self.settings.get("webhook_secret", "")
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        return bool(expected) and hmac.compare_digest(expected, given)

    def parse_webhook(self, request) -> list[WebhookSignal]:
        try:
            update = json.loads(request.body)
            message = update.get("message")
            update_id = str(update["update_id"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a Telegram Update ({exc})") from None
        if not isinstance(message, dict) or "chat" not in message:
            return []
        text = message.get("text", "")
        command = text.strip().split("@")[0].lower()
        kind = {"/stop": "opted_out", "/start": "opted_in"}.get(command, "inbound")
        return [
            WebhookSignal(
                kind=kind,
                provider_event_id=update_id,
                address=str(message["chat"]["id"]),
                text=text,
                occurred_at=datetime.fromtimestamp(message["date"], UTC)
                if "date" in message
                else None,
            )
        ]


@hookimpl
def engage_channels():
    return [Telegram]
