"""Write-key authentication, exactly as Segment's libraries send it.

Segment clients send HTTP Basic auth with the write key as the username and an
empty password; browser libraries may instead put ``writeKey`` in the JSON
body. Only write keys ingest: a secret key is refused (it should never be
shipped inside an app, and ingestion is all a write key can do).
"""

import binascii
from base64 import b64decode

from engage.workspaces.models import ApiKey
from engage.workspaces.selectors import active_key

from .errors import IngestError

CHALLENGE = {"WWW-Authenticate": 'Basic realm="engage"'}


def key_from_header(header: str | None) -> str | None:
    """The write key in an ``Authorization: Basic`` header, or None without one."""
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized(
            "Authorization", "expected HTTP Basic auth with the write key as the username"
        )
    try:
        decoded = b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("Authorization", "the Basic credentials are not valid base64") from None
    username, _, _password = decoded.partition(":")  # Segment ignores the password
    return username


def authenticate(raw, field: str) -> ApiKey:
    """The active write key for ``raw`` (found in ``field``), else 401."""
    if raw is None or raw == "":
        raise _unauthorized(
            "Authorization",
            "no write key; send HTTP Basic auth with the write key as the username "
            "(or writeKey in the body)",
        )
    if type(raw) is not str:
        raise _unauthorized(field, "must be a string")
    key = active_key(raw)
    if key is None:
        raise _unauthorized(field, "unknown or revoked write key")
    if key.kind != ApiKey.WRITE:
        raise _unauthorized(
            field, "a secret key cannot ingest events; send the workspace's write key"
        )
    return key


def _unauthorized(field: str, reason: str) -> IngestError:
    return IngestError.field(401, "unauthorized", field, reason, headers=CHALLENGE)
