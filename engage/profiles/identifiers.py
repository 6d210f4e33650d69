"""Identifier kinds, normalization and the junk list.

The same normalization runs when events are resolved and when an operator or
an API client looks a customer up, so ``Ada@Example.COM`` finds ``ada@example.com``.
"""

import re

import phonenumbers
from django.conf import settings
from email_validator import EmailNotValidError, validate_email

from .models import Identity

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_VALUE_LENGTH = 255

# Values clients send when they have no real id (Segment Unify's and PostHog's
# lists). Compared case-insensitively after trimming; never used to merge.
JUNK_VALUES = frozenset(
    {
        "",
        "0",
        "-1",
        "null",
        "none",
        "nil",
        "nan",
        "undefined",
        "anonymous",
        "guest",
        "unknown",
        "true",
        "false",
        "id",
        "email",
        "distinct_id",
        "distinctid",
        "not_authenticated",
        "[object object]",
        "00000000-0000-0000-0000-000000000000",
    }
)
ALL_ZEROS = re.compile(r"^[0-]*$")


class InvalidIdentifier(ValueError):
    """An identifier that cannot be used; ``str()`` names the kind and the reason."""

    def __init__(self, kind: str, reason: str):
        self.kind = kind
        self.reason = reason
        super().__init__(f"{kind}: {reason}")


def check_kind(kind: str) -> str:
    if not KIND_PATTERN.match(kind or ""):
        raise InvalidIdentifier(
            "kind", f"{kind!r} is not a valid identifier kind (lowercase letters, digits, _)"
        )
    return kind


def normalize(kind: str, value, *, phone_region: str = "") -> str:
    """The canonical form of ``value`` for ``kind``, or InvalidIdentifier."""
    check_kind(kind)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidIdentifier(kind, "must be a string")
    value = str(value).strip()
    if not value:
        raise InvalidIdentifier(kind, "must not be empty")
    if kind == Identity.EMAIL:
        try:
            value = validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise InvalidIdentifier(kind, f"not a valid email address ({exc})") from None
    elif kind == Identity.PHONE:
        value = _normalize_phone(value, phone_region)
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier(kind, f"longer than {MAX_VALUE_LENGTH} characters")
    return value


def _normalize_phone(value: str, region: str) -> str:
    try:
        number = phonenumbers.parse(value, region.upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier(
            Identity.PHONE, "not a phone number (write it as +<country><number>)"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier(Identity.PHONE, "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_junk(value: str, *, extra_blocked=()) -> bool:
    """True for placeholder values that must never tie two customers together."""
    folded = value.strip().strip("'\"").strip().lower()
    if folded in JUNK_VALUES or ALL_ZEROS.match(folded):
        return True
    blocked = {v.strip().lower() for v in (*settings.ENGAGE_BLOCKED_IDENTIFIERS, *extra_blocked)}
    return folded in blocked
