"""The signature engage puts on the webhooks it sends (the webhook channel's
messages and journeys' webhook steps), so a receiver checks both one way:
``X-Engage-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Engage-Signature"


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Engage-Signature`` value for ``body`` sent at ``timestamp``."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
