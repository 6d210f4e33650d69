"""Delivery events from email service providers, through django-anymail.

Anymail's webhook views (mounted at ``/anymail/<esp>/tracking/``, protected by
``ANYMAIL["WEBHOOK_SECRET"]`` basic auth) verify and normalize each ESP's
format and send the ``tracking`` signal; ``apply_tracking_event`` applies it
to the email message the ESP's message id belongs to, exactly like a channel
webhook: deduplicated, forward-only, on the timeline, bounces and complaints
opting the customer out.
"""

import hashlib

from django.conf import settings
from django.http import Http404

from engage.plugins.base import WebhookSignal
from engage.plugins.manager import UnknownPlugin, get_channel_class

from .delivery_status import apply_signal
from .models import Message

EMAIL = "email"
# Anymail's normalized event types → engage's signal kinds; others are ignored
# (queued, deferred, autoresponded...: nothing changes for the customer).
KINDS = {
    "delivered": "delivered",
    "opened": "opened",
    "clicked": "clicked",
    "bounced": "bounced",
    "complained": "complained",
    "unsubscribed": "unsubscribed",
    "rejected": "failed",
    "failed": "failed",
}


def event_key(esp_name: str, event) -> str:
    """The ESP's event id, or a stable digest of the event when it sends none."""
    if event.event_id:
        return f"{esp_name}:{event.event_id}"
    parts = [event.message_id, event.event_type, event.timestamp, event.click_url, event.recipient]
    digest = hashlib.sha256("|".join(str(p or "") for p in parts).encode()).hexdigest()[:32]
    return f"{esp_name}:{digest}"


def apply_tracking_event(*, event, esp_name: str) -> None:
    """Apply an anymail ``tracking`` event (see ``receivers``) to its email message."""
    kind = KINDS.get(event.event_type)
    if kind is None or not event.message_id:
        return
    message = (
        Message.objects.select_related("workspace")
        .filter(provider_message_id=str(event.message_id), channel=EMAIL)
        .first()
    )
    if message is None:
        return
    try:
        channel = get_channel_class(EMAIL)
    except UnknownPlugin:
        return
    detail = {"esp": esp_name}
    if event.click_url:
        detail["url"] = event.click_url
    if event.description:
        detail["description"] = str(event.description)[:500]
    apply_signal(
        workspace=message.workspace,
        channel=channel,
        signal=WebhookSignal(
            kind=kind,
            provider_event_id=event_key(esp_name, event),
            provider_message_id=str(event.message_id),
            address=event.recipient or "",
            occurred_at=event.timestamp,
            detail=detail,
        ),
    )


def _tracking_views() -> dict:
    from anymail import urls

    return {
        pattern.name.removesuffix("_tracking_webhook"): pattern.callback
        for pattern in urls.urlpatterns
        if pattern.name and pattern.name.endswith("_tracking_webhook")
    }


def tracking_webhook(request, esp: str):
    """``/anymail/<esp>/tracking/``: anymail's view for that ESP.

    Refused (404) until ``ANYMAIL["WEBHOOK_SECRET"]`` is set: without it
    anymail would accept unauthenticated posts, and anyone could bounce or
    unsubscribe any customer.
    """
    if not (getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET"):
        raise Http404("ESP webhooks are off: set ANYMAIL_WEBHOOK_SECRET")
    view = _tracking_views().get(esp)
    if view is None:
        raise Http404(f"no anymail tracking webhook for {esp!r}")
    return view(request)
