"""API key generation and hashing.

Keys are 32 random bytes, so a plain SHA-256 is enough to make a leaked table
useless (a slow password hash would only slow every request down).
"""

import hashlib
import secrets

PREFIXES = {"write": "wk_", "secret": "sk_"}
SHOWN_PREFIX_LENGTH = 10


def generate_key(kind: str) -> str:
    return PREFIXES[kind] + secrets.token_urlsafe(32)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
