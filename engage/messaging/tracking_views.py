"""The signed links in outgoing mail: one-click unsubscribe, click redirect, open pixel.

No API key: the signature is the authorization. A link whose signature does
not check out answers 404 and never redirects, so the click endpoint cannot
be used as an open redirect.
"""

import base64
import hashlib

from django.http import HttpResponse, HttpResponseNotFound, HttpResponseRedirect
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from engage.plugins.manager import UnknownPlugin, get_channel_class

from . import tracking
from .delivery_status import apply_to_message
from .models import Message

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = "no-store, private"


def _message(message_id: int):
    message = Message.objects.select_related("workspace").filter(pk=message_id).first()
    if message is None:
        return None, None
    try:
        return message, get_channel_class(message.channel)
    except UnknownPlugin:
        return message, None


def _record(message: Message, channel, kind: str, key: str, **properties) -> None:
    if channel is not None:
        apply_to_message(
            workspace=message.workspace,
            channel=channel,
            message=message,
            kind=kind,
            key=key,
            properties=properties,
        )


@csrf_exempt
def unsubscribe(request, token: str):
    """GET shows a confirmation button (link scanners prefetch GETs, so GET
    changes nothing); POST, from that button or a mailbox provider's one-click
    (RFC 8058), opts the customer out."""
    try:
        message_id = tracking.read_unsubscribe_token(token)
    except tracking.InvalidToken:
        return HttpResponseNotFound("This unsubscribe link is not valid.")
    message, channel = _message(message_id)
    if message is None:
        return HttpResponseNotFound("This unsubscribe link is not valid.")
    if request.method == "POST":
        _record(message, channel, "unsubscribed", f"engage:message:{message.pk}:unsubscribed")
        return HttpResponse(
            "<!doctype html><title>Unsubscribed</title><p>You are unsubscribed.</p>"
        )
    if request.method != "GET":
        return HttpResponse(status=405)
    return HttpResponse(
        "<!doctype html><title>Unsubscribe</title>"
        f'<form method="post" action="{escape(request.path)}">'
        "<p>Stop receiving these messages?</p><button type=submit>Unsubscribe</button></form>"
    )


def click(request, token: str):
    try:
        message_id, url = tracking.read_click_token(token)
    except tracking.InvalidToken:
        return HttpResponseNotFound("This link is not valid.")
    if not url.startswith(("http://", "https://")):
        return HttpResponseNotFound("This link is not valid.")
    message, channel = _message(message_id)
    if message is not None:
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        _record(message, channel, "clicked", f"engage:message:{message.pk}:click:{digest}", url=url)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = NO_STORE
    return response


def open_pixel(request, token: str):
    try:
        message_id = tracking.read_open_token(token)
    except tracking.InvalidToken:
        message_id = None
    message, channel = _message(message_id) if message_id else (None, None)
    if message is not None:
        _record(message, channel, "opened", f"engage:message:{message.pk}:opened")
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    return response
