"""Identifier kinds, normalization, the junk list, and what an event says about who sent it.

The same normalization runs when events are resolved and when an operator or
an API client looks a customer up, so ``Ada@Example.COM`` finds ``ada@example.com``.
``extract_identifiers`` reads an event's identifiers, normalized and best
first, for identity resolution (``resolution``).
"""

import functools
import re
from dataclasses import dataclass, field
from typing import NamedTuple

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
        value = _normalize_email(value)
    elif kind == Identity.PHONE:
        value = _normalize_phone(value, phone_region)
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier(kind, f"longer than {MAX_VALUE_LENGTH} characters")
    return value


# A customer's email and phone come back with most of their identifies, and
# checking one costs 30-70 µs (email_validator, phonenumbers), about a fifth of
# what processing spends on an identify: the outcome of each valid value is
# kept. Both are pure functions of their arguments; an invalid value raises
# and is checked again each time.
@functools.lru_cache(maxsize=16_384)
def _normalize_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidIdentifier(Identity.EMAIL, f"not a valid email address ({exc})") from None


@functools.lru_cache(maxsize=16_384)
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
    return _junk(value, (*settings.ENGAGE_BLOCKED_IDENTIFIERS, *extra_blocked))


def _junk(value: str, blocked) -> bool:
    folded = value.strip().strip("'\"").strip().lower()
    if folded in JUNK_VALUES or ALL_ZEROS.match(folded):
        return True
    return folded in {v.strip().lower() for v in blocked}


# Lower ranks win when a limit forces an identifier out; external kinds rank
# between phone and device_id, alphabetically among themselves.
KIND_RANK = {
    Identity.USER_ID: 0,
    Identity.EMAIL: 1,
    Identity.PHONE: 2,
    Identity.DEVICE_ID: 4,
    Identity.ANONYMOUS_ID: 5,
}
EXTERNAL_RANK = 3
# Kinds that only say "the same browser, app or login", as opposed to a
# shared email, phone or external id seen on two profiles.
SESSION_KINDS = (Identity.USER_ID, Identity.ANONYMOUS_ID, Identity.DEVICE_ID)
# Types in context.externalIds that name a built-in kind.
EXTERNAL_TYPE_KINDS = {
    "email": Identity.EMAIL,
    "phone": Identity.PHONE,
    "user_id": Identity.USER_ID,
    "userid": Identity.USER_ID,
    "anonymous_id": Identity.ANONYMOUS_ID,
    "device_id": Identity.DEVICE_ID,
}


class Identifier(NamedTuple):
    """A normalized (kind, value). A tuple, not a frozen dataclass: resolution
    builds and hashes about twenty per event, and a tuple's hash runs in C
    (a dictionary look-up 0.05 µs against 0.12, building one 0.23 against 0.34)."""

    kind: str
    value: str

    @property
    def rank(self) -> tuple:
        return (KIND_RANK.get(self.kind, EXTERNAL_RANK), self.kind, self.value)

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


@dataclass
class Extracted:
    """What an event says about who sent it."""

    identifiers: list[Identifier]  # usable, best first
    previous_id: str = ""  # an alias's previousId, normalized; its kind is looked up
    warnings: list[str] = field(default_factory=list)

    def lock_pairs(self) -> list[Identifier]:
        """Every (kind, value) the event may touch: its identifiers, and both kinds
        an alias's previousId may be known as."""
        if not self.previous_id:
            return list(self.identifiers)
        return [
            *self.identifiers,
            Identifier(Identity.USER_ID, self.previous_id),
            Identifier(Identity.ANONYMOUS_ID, self.previous_id),
        ]


def extract_identifiers(*, event, workspace) -> Extracted:
    """The identifiers of ``event`` (an engage.events Event), normalized.

    Person traits come from an identify's ``traits`` and from
    ``context.traits`` (a group call's traits describe the group, not the person).
    """
    found: list[tuple[str, object, str]] = []  # (kind, raw value, where)
    if event.user_id:
        found.append((Identity.USER_ID, event.user_id, "userId"))
    if event.anonymous_id:
        found.append((Identity.ANONYMOUS_ID, event.anonymous_id, "anonymousId"))
    context = event.context if isinstance(event.context, dict) else {}
    trait_sources = [("context.traits", context.get("traits"))]
    if event.type == "identify":
        trait_sources.insert(0, ("traits", event.traits))
    for where, traits in trait_sources:
        if not isinstance(traits, dict):
            continue
        for kind in (Identity.EMAIL, Identity.PHONE):
            if traits.get(kind) not in (None, ""):
                found.append((kind, traits[kind], f"{where}.{kind}"))
    device = context.get("device")
    if isinstance(device, dict) and device.get("id") not in (None, ""):
        found.append((Identity.DEVICE_ID, device["id"], "context.device.id"))
    external = context.get("externalIds")
    if isinstance(external, list):
        for index, item in enumerate(external):
            where = f"context.externalIds[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                found.append(("kind", None, f"{where}.type"))
                continue
            kind = item["type"].strip().lower()
            found.append((EXTERNAL_TYPE_KINDS.get(kind, kind), item.get("id"), f"{where}.id"))

    extracted = Extracted(identifiers=[])
    seen = set()
    for kind, raw, where in found:
        identifier = _usable(kind, raw, where, workspace, extracted.warnings)
        if identifier is not None and identifier not in seen:
            seen.add(identifier)
            extracted.identifiers.append(identifier)
    if event.type == "alias" and event.previous_id:
        previous = _usable(Identity.ANONYMOUS_ID, event.previous_id, "previousId", workspace, [])
        if previous is None:
            extracted.warnings.append(
                f"previousId: {event.previous_id!r} is not usable as an identifier; "
                "nothing was aliased"
            )
        else:
            extracted.previous_id = previous.value
    extracted.identifiers.sort(key=lambda i: i.rank)
    return extracted


def _usable(kind, raw, where, workspace, warnings) -> Identifier | None:
    check = _checked if type(raw) in (str, int) else _checked.__wrapped__
    identifier, refusal = check(
        kind,
        raw,
        workspace.default_phone_region,
        tuple(workspace.blocked_identifiers),
        tuple(settings.ENGAGE_BLOCKED_IDENTIFIERS),
    )
    if refusal:
        warnings.append(f"{where}: {refusal}")
    return identifier


# A customer's identifiers come back with most of their events (an
# anonymousId with every page view), and normalizing and checking one costs
# several µs even when it is valid: the outcome is kept per process, for
# every string or number value, valid or not. A pure function of its
# arguments, which carry both block lists.
@functools.lru_cache(maxsize=16_384, typed=True)
def _checked(kind, raw, region, blocked, settings_blocked) -> tuple[Identifier | None, str]:
    """(the Identifier, "") when ``raw`` is usable, else (None, why not)."""
    try:
        value = normalize(kind, raw, phone_region=region)
    except InvalidIdentifier as exc:
        return None, f"{exc.reason}; not used to identify the customer"
    if _junk(value, (*settings_blocked, *blocked)):
        return None, f"{value!r} is a placeholder value; never used to identify the customer"
    return Identifier(kind, value), ""


def identity_limit(workspace, kind: str) -> int:
    if kind == Identity.USER_ID:
        return 1
    limits = workspace.identity_limits if isinstance(workspace.identity_limits, dict) else {}
    try:
        return max(1, int(limits.get(kind, settings.ENGAGE_DEFAULT_IDENTITY_LIMIT)))
    except (TypeError, ValueError):
        return settings.ENGAGE_DEFAULT_IDENTITY_LIMIT
