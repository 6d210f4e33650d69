"""Write-key authentication, exactly as Segment's libraries send it.

Segment clients send HTTP Basic auth with the write key as the username and an
empty password; browser libraries may instead put ``writeKey`` in the JSON
body. Only write keys ingest: a secret key is refused (it should never be
shipped inside an app, and ingestion is all a write key can do).
"""

import binascii
from base64 import b64decode
from typing import NamedTuple

from django.db import connection

from engage.workspaces.keys import hash_key
from engage.workspaces.models import ApiKey, Workspace

from .errors import IngestError

CHALLENGE = {"WWW-Authenticate": 'Basic realm="engage"'}
# Every request runs this: plain SQL, as the ORM query building the same
# select_related lookup costs about 0.8 ms of CPU more per request.
ACTIVE_KEY = (
    "SELECT k.kind, k.workspace_id, w.rate_limit_per_second "  # noqa: S608 (table names)
    f"FROM {ApiKey._meta.db_table} k JOIN {Workspace._meta.db_table} w ON w.id = k.workspace_id "
    "WHERE k.key_hash = %s AND k.revoked_at IS NULL"
)


class WriteKey(NamedTuple):
    """What ingestion needs to know about an authenticated write key."""

    workspace_id: int
    rate_limit: int | None  # the workspace's own limit, None for the server default


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


def authenticate(raw, field: str) -> WriteKey:
    """The active write key for ``raw`` (found in ``field``), else 401."""
    if raw is None or raw == "":
        raise _unauthorized(
            "Authorization",
            "no write key; send HTTP Basic auth with the write key as the username "
            "(or writeKey in the body)",
        )
    if type(raw) is not str:
        raise _unauthorized(field, "must be a string")
    try:
        key_hash = hash_key(raw)
    except UnicodeEncodeError:  # a lone surrogate from a JSON \ud800 escape
        raise _unauthorized(field, "unknown write key (not valid Unicode text)") from None
    with connection.cursor() as cursor:
        cursor.execute(ACTIVE_KEY, [key_hash])
        found = cursor.fetchone()
    if found is None:
        raise _unauthorized(field, "unknown or revoked write key")
    kind, workspace_id, rate_limit = found
    if kind != ApiKey.WRITE:
        raise _unauthorized(
            field, "a secret key cannot ingest events; send the workspace's write key"
        )
    return WriteKey(workspace_id, rate_limit)


def _unauthorized(field: str, reason: str) -> IngestError:
    return IngestError.field(401, "unauthorized", field, reason, headers=CHALLENGE)
