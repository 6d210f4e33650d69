"""Web push to browsers (Push API), encrypted and signed as the standards ask.

The browser's ``PushSubscription`` (``{"endpoint", "keys": {"p256dh",
"auth"}}``) is stored on the profile as the trait ``web_push_subscription``.
The payload is encrypted for that browser (RFC 8291, ``aes128gcm``, by
pywebpush) and the request carries a VAPID token (RFC 8292) signed with the
operator's key. Endpoints come from browsers (through the public write key),
so they must be on a known push service's host (``push_service_hosts``) and
go through the SSRF guard like every outbound URL. A 404 or 410 means the subscription is gone:
the trait is removed and the send fails permanently.
"""

import json
import time
from urllib.parse import urlsplit

from django.db import transaction
from py_vapid import Vapid02, VapidException
from pywebpush import WebPusher, WebPushException

from engage.plugins import hookimpl, provider_http
from engage.plugins.base import (
    Capabilities,
    Channel,
    PermanentSendError,
    SendResult,
    SettingField,
)
from engage.plugins.provider_http import ProviderRejected
from engage.profiles.models import Profile

SUBSCRIPTION_TRAIT = "web_push_subscription"
GONE = (404, 410)
# The browsers' push services. Subscriptions arrive through the public write
# key, so an endpoint elsewhere would make engage POST wherever a visitor likes.
PUSH_SERVICE_HOSTS = (
    "fcm.googleapis.com,updates.push.services.mozilla.com,web.push.apple.com,"
    ".push.apple.com,.notify.windows.com"
)


def host_allowed(endpoint: str, allowed: str) -> bool:
    """Whether the endpoint's host is listed in ``allowed`` (comma-separated;
    an entry with a leading dot allows every subdomain)."""
    host = (urlsplit(endpoint).hostname or "").lower()
    for entry in (e.strip().lower() for e in allowed.split(",")):
        if entry and (host == entry or (entry.startswith(".") and host.endswith(entry))):
            return True
    return False


def subscription_of(profile) -> dict | None:
    value = (profile.traits or {}).get(SUBSCRIPTION_TRAIT)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict) and value.get("endpoint") and isinstance(value.get("keys"), dict):
        return value
    return None


def forget_subscription(profile_id: int, endpoint: str) -> None:
    with transaction.atomic():
        profile = Profile.objects.select_for_update().get(pk=profile_id)
        current = subscription_of(profile)
        if current and current["endpoint"] == endpoint:
            profile.traits.pop(SUBSCRIPTION_TRAIT, None)
            profile.save(update_fields=["traits"])


class WebPushChannel(Channel):
    id = "webpush"
    name = "Web push (VAPID)"
    label = "Web Push"
    capabilities = Capabilities(two_way=False, rich_content=False, max_length=3000)
    settings_schema = (
        SettingField(
            "vapid_private_key",
            required=True,
            secret=True,
            help="The VAPID private key (base64url raw P-256 key or PEM).",
        ),
        SettingField(
            "vapid_subject", required=True, help="Contact for push services: mailto: or https:."
        ),
        SettingField("ttl_seconds", type="integer", default=86400),
        SettingField(
            "push_service_hosts",
            default=PUSH_SERVICE_HOSTS,
            help="Hosts subscriptions may point at (comma-separated, .suffix for subdomains).",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        errors = {}
        try:
            Vapid02.from_string(settings["vapid_private_key"])
        except (VapidException, ValueError, TypeError):
            errors["vapid_private_key"] = "not a P-256 private key (base64url raw or PEM)"
        if not settings["vapid_subject"].startswith(("mailto:", "https://")):
            errors["vapid_subject"] = "must start with mailto: or https://"
        if not 0 <= settings["ttl_seconds"] <= 2419200:
            errors["ttl_seconds"] = "must be between 0 and 2419200 (four weeks)"
        return errors

    def address_for(self, profile) -> str | None:
        subscription = subscription_of(profile)
        return subscription["endpoint"] if subscription else None

    def vapid_headers(self, endpoint: str) -> dict:
        parts = urlsplit(endpoint)
        claims = {
            "sub": self.settings["vapid_subject"],
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + 12 * 3600,
        }
        return Vapid02.from_string(self.settings["vapid_private_key"]).sign(claims)

    def send(self, *, message, address: str) -> SendResult:
        subscription = subscription_of(message.profile)
        # ``address`` may be the endpoint cut to the message's address column.
        if subscription is None or not subscription["endpoint"].startswith(address):
            raise PermanentSendError("no_address: the web push subscription changed or was removed")
        endpoint = subscription["endpoint"]
        if not host_allowed(endpoint, self.settings["push_service_hosts"]):
            raise PermanentSendError(
                f"endpoint: {urlsplit(endpoint).hostname} is not a known push service"
            )
        payload = json.dumps(
            {"title": message.subject, "body": message.body, "message_id": message.pk}
        ).encode()
        try:
            body = WebPusher(subscription).encode(payload, "aes128gcm")["body"]
        except (WebPushException, ValueError) as exc:
            raise PermanentSendError(f"web push subscription is invalid: {exc}") from None
        headers = {
            **self.vapid_headers(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.settings["ttl_seconds"]),
            "Urgency": "normal",
        }
        try:
            response = provider_http.post(endpoint, content=body, headers=headers)
        except ProviderRejected as exc:
            if exc.status in GONE:
                forget_subscription(message.profile_id, endpoint)
            raise
        return SendResult(
            provider_message_id=response.headers.get("location") or f"webpush-{message.pk}"
        )


@hookimpl
def engage_channels():
    return [WebPushChannel]
