"""Signed links in outgoing messages: one-click unsubscribe, click tracking, open pixel.

Tokens are signed with the server's SECRET_KEY (``django.core.signing``), a
different salt per purpose, so a click token cannot unsubscribe. They carry
the message id (and, for clicks, the original URL), never an address: the
redirect can only go where the original message pointed.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Message

UNSUBSCRIBE_SALT = "engage.messaging.unsubscribe"
CLICK_SALT = "engage.messaging.click"
OPEN_SALT = "engage.messaging.open"


class InvalidToken(ValueError):
    pass


def _public_url(path: str) -> str:
    return settings.ENGAGE_PUBLIC_URL.rstrip("/") + path


def _sign(payload, salt: str) -> str:
    return signing.dumps(payload, salt=salt, compress=True)


def _unsign(token: str, salt: str):
    try:
        return signing.loads(token, salt=salt)
    except signing.BadSignature:
        raise InvalidToken("invalid or tampered link") from None


def unsubscribe_url(message: Message) -> str:
    token = _sign({"m": message.pk}, UNSUBSCRIBE_SALT)
    return _public_url(reverse("messaging:unsubscribe", args=[token]))


def click_url(message: Message, url: str) -> str:
    token = _sign({"m": message.pk, "u": url}, CLICK_SALT)
    return _public_url(reverse("messaging:click", args=[token]))


def open_pixel_url(message: Message) -> str:
    token = _sign({"m": message.pk}, OPEN_SALT)
    return _public_url(reverse("messaging:open", args=[token]))


def read_unsubscribe_token(token: str) -> int:
    return int(_unsign(token, UNSUBSCRIBE_SALT)["m"])


def read_click_token(token: str) -> tuple[int, str]:
    payload = _unsign(token, CLICK_SALT)
    return int(payload["m"]), str(payload["u"])


def read_open_token(token: str) -> int:
    return int(_unsign(token, OPEN_SALT)["m"])
