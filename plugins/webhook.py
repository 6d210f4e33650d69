"""Webhook channel: a signed JSON POST to a URL the operator runs.

The receiver proves the POST came from engage by recomputing the signature:
``X-Engage-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``
with the shared signing secret, and should refuse a ``t`` older than a few
minutes (replays). ``Idempotency-Key`` carries the message's key so a
receiver can drop a repeat. The URL goes through the SSRF guard: private,
loopback and link-local addresses are refused unless they fall in one of the
networks ``ENGAGE_OUTBOUND_ALLOWED_NETWORKS`` lists (CIDRs).
"""

import json
import time

from django.core.serializers.json import DjangoJSONEncoder

from engage.plugins import hookimpl, provider_http
from engage.plugins.base import Capabilities, Channel, SendResult, SettingField
from engage.plugins.outbound import url_refusal
from engage.plugins.signing import SIGNATURE_HEADER, signature


def payload_for(message) -> dict:
    profile = message.profile
    return {
        "type": "message",
        "message": {
            "id": message.pk,
            "idempotency_key": message.idempotency_key,
            "category": message.category,
            "subject": message.subject,
            "body": message.body,
            "html": message.html,
            "created_at": message.created_at,
        },
        "profile": {
            "id": profile.pk,
            "traits": profile.traits,
            "identities": [
                {"kind": kind, "value": value}
                for kind, value in profile.identities.order_by("id").values_list("kind", "value")
            ],
        },
    }


class WebhookChannel(Channel):
    id = "webhook"
    name = "Webhook"
    label = "Webhook"
    settings_schema = (
        SettingField("url", type="url", required=True, help="Where engage POSTs each message."),
        SettingField(
            "signing_secret",
            required=True,
            secret=True,
            help="Shared secret for the X-Engage-Signature HMAC-SHA256.",
        ),
        SettingField("timeout_seconds", type="integer", default=10),
    )
    capabilities = Capabilities(two_way=False, rich_content=True)

    @classmethod
    def check_settings(cls, settings):
        errors = {}
        refusal = url_refusal(settings["url"])
        if refusal:
            errors["url"] = refusal
        if not 1 <= settings["timeout_seconds"] <= 60:
            errors["timeout_seconds"] = "must be between 1 and 60"
        return errors

    def address_for(self, profile) -> str | None:
        # The operator's endpoint receives every customer's messages; the
        # address recorded on the message is the profile it is about.
        return f"profile:{profile.pk}"

    def send(self, *, message, address: str) -> SendResult:
        body = json.dumps(payload_for(message), cls=DjangoJSONEncoder).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "engage-webhook/1",
            "Idempotency-Key": message.idempotency_key,
            SIGNATURE_HEADER: signature(self.settings["signing_secret"], body, int(time.time())),
        }
        response = provider_http.post(
            self.settings["url"],
            content=body,
            headers=headers,
            timeout=float(self.settings["timeout_seconds"]),
        )
        return SendResult(
            provider_message_id=f"webhook-{message.pk}",
            detail={"status": response.status_code},
        )


@hookimpl
def engage_channels():
    return [WebhookChannel]
