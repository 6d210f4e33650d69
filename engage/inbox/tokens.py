"""Per-profile inbox tokens.

The customer's backend asks engage for a token (secret key) and hands it to
its app; the app reads that one customer's inbox with it and nothing else.
Tokens are signed with the server's SECRET_KEY (``django.core.signing``), carry
the workspace and profile ids, and expire.
"""

from django.core import signing

SALT = "engage.inbox.token"
MAX_AGE_SECONDS = 30 * 24 * 3600


class InvalidInboxToken(ValueError):
    pass


def issue(*, workspace_id: int, profile_id: int) -> str:
    return signing.dumps({"w": workspace_id, "p": profile_id}, salt=SALT)


def read(token: str) -> tuple[int, int]:
    """(workspace id, profile id) of a valid, unexpired token."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise InvalidInboxToken("token expired") from None
    except signing.BadSignature:
        raise InvalidInboxToken("invalid token") from None
    return int(payload["w"]), int(payload["p"])
