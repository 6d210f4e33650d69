"""Base classes for plugin authors: a plugin declares an id, a name and a
settings schema; a channel adds how to find an address and how to send.

engage stores a plugin's settings per workspace (``PluginConfig``) and always
passes them through ``validate_settings`` first, so a plugin sees only values
that match its schema. Errors name the field, e.g. ``bot_token: required``.
"""

import copy
import json
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from engage.json_limits import TooDeep, check_depth

# ``number`` is a finite float; ``json`` any JSON value (an object, a list...),
# which the plugin's ``check_settings`` examines further.
SETTING_TYPES = ("string", "integer", "boolean", "url", "email", "number", "json")


@dataclass(frozen=True)
class SettingField:
    """One setting of a plugin.

    ``secret`` settings (tokens, passwords) are stored but never shown again:
    the admin leaves them blank ("keep the current value") and no API returns them.
    """

    name: str
    type: str = "string"
    required: bool = False
    help: str = ""
    secret: bool = False
    default: Any = None

    def __post_init__(self):
        if self.type not in SETTING_TYPES:
            raise ValueError(f"{self.name}: type must be one of {SETTING_TYPES}, not {self.type!r}")


class SettingsError(ValueError):
    """Invalid plugin settings; ``errors`` maps each field name to its reason."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))


def _clean_value(spec: SettingField, value: Any) -> Any:
    """The value converted to the field's type, or ValueError with the reason."""
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ValueError("must be true or false")
    if spec.type == "integer":
        if isinstance(value, bool):
            raise ValueError("must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError("must be an integer") from None
    if spec.type == "number":
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if not math.isfinite(number):
            raise ValueError("must be a number")
        return number
    if spec.type == "json":
        try:
            check_depth(value)
            json.dumps(value, allow_nan=False)
        except TooDeep as exc:
            raise ValueError(str(exc)) from None
        except (TypeError, ValueError):
            raise ValueError("must be a JSON value") from None
        return value
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    try:
        if spec.type == "url":
            URLValidator(schemes=["http", "https"])(value)
        elif spec.type == "email":
            EmailValidator()(value)
    except ValidationError:
        raise ValueError(f"not a valid {spec.type}") from None
    return value


class Plugin:
    """What every configurable plugin declares."""

    id: ClassVar[str]
    name: ClassVar[str]
    settings_schema: ClassVar[tuple[SettingField, ...]] = ()

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        return frozenset(f.name for f in cls.settings_schema if f.secret)

    @classmethod
    def validate_settings(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Settings checked against the schema, with defaults filled in.

        Raises SettingsError naming every bad field. Plugins with rules that
        span fields override ``check_settings``.
        """
        if not isinstance(data, dict):
            raise SettingsError({"settings": "must be an object"})
        known = {f.name: f for f in cls.settings_schema}
        errors = {name: "unknown setting" for name in data if name not in known}
        cleaned: dict[str, Any] = {}
        for spec in cls.settings_schema:
            value = data.get(spec.name)
            if value is None or value == "":
                if spec.required:
                    errors[spec.name] = "required"
                elif spec.default is not None:
                    # A copy: a JSON default is a dict or list every workspace shares.
                    cleaned[spec.name] = copy.deepcopy(spec.default)
                continue
            try:
                cleaned[spec.name] = _clean_value(spec, value)
            except ValueError as exc:
                errors[spec.name] = str(exc)
        if not errors:
            errors = cls.check_settings(cleaned)
        if errors:
            raise SettingsError(errors)
        return cleaned

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> dict[str, str]:
        """Cross-field or deeper checks on type-checked settings: {field: reason}."""
        return {}


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do; journeys and policy read these."""

    two_way: bool = False
    rich_content: bool = False
    max_length: int | None = None
    needs_opt_in: bool = False


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    detail: dict = field(default_factory=dict)


class SendError(Exception):
    """Base of the errors a channel raises from ``send``; ``str()`` is stored on the message."""


class TransientSendError(SendError):
    """Not sent, and worth trying again later (network error, 429, 5xx)."""

    def __init__(self, reason: str, *, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(reason)


class PermanentSendError(SendError):
    """Not sent, and trying again will not help (bad address, 4xx, refused URL)."""


class SendOutcomeUnknown(SendError):
    """The provider may or may not have sent it (e.g. a timeout after the request
    went out). engage never resends such a message blindly."""


# What a provider webhook can tell engage about a message or a customer.
SIGNAL_KINDS = (
    "delivered",
    "opened",
    "clicked",
    "replied",
    "bounced",
    "complained",
    "unsubscribed",
    "failed",
    "inbound",
    "opted_out",
    "opted_in",
)


@dataclass(frozen=True)
class WebhookSignal:
    """One fact parsed from a provider webhook.

    ``provider_event_id`` is what engage deduplicates on (providers deliver
    webhooks at least once), so it must be stable across redeliveries of the
    same event. ``provider_message_id`` links it to a sent ``Message``;
    ``address`` (an email, a phone number...) finds the customer when there is
    no message, e.g. an inbound text. ``text`` is an inbound message's content.
    """

    kind: str
    provider_event_id: str
    provider_message_id: str = ""
    address: str = ""
    text: str = ""
    occurred_at: datetime | None = None
    detail: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in SIGNAL_KINDS:
            raise ValueError(f"kind: must be one of {', '.join(SIGNAL_KINDS)}, not {self.kind!r}")
        if not self.provider_event_id:
            raise ValueError("provider_event_id: required, engage deduplicates on it")


ALLOW = "allow"
SKIP = "skip"
DEFER = "defer"


@dataclass(frozen=True)
class Decision:
    """A policy verdict on a send (what ``engage_check_send`` returns).

    ``action`` is allow, skip or defer; ``reason`` a stable code such as
    ``unsubscribed``; ``until`` when a deferred message may go.
    """

    action: str
    reason: str = ""
    detail: str = ""
    until: datetime | None = None

    def __post_init__(self):
        if self.action not in (ALLOW, SKIP, DEFER):
            raise ValueError(f"action: must be allow, skip or defer, not {self.action!r}")
        if self.action == DEFER and self.until is None:
            raise ValueError("until: a deferral needs the time the message may go")


SEND_RATE = SettingField(
    "send_rate",
    "number",
    help="Most messages per second handed to the provider, across all workers (blank: no limit)",
)


class Channel(Plugin):
    """A way to reach a customer. engage instantiates it with validated settings.

    ``address_for`` finds the customer's address (an identity of
    ``address_kind``, else the trait ``address_trait``); ``send`` delivers one
    message and returns the provider's id, or raises a ``SendError``.
    ``idempotent`` says the provider deduplicates a resend of the same message,
    which lets engage resend a message whose worker died mid-send.
    """

    label: ClassVar[str] = ""
    address_kind: ClassVar[str] = ""
    address_trait: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    idempotent: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        """Every channel's schema ends with ``send_rate``: a provider's limit
        is the operator's to set, whichever plugin sends (engage.sendrates)."""
        super().__init_subclass__(**kwargs)
        if all(spec.name != SEND_RATE.name for spec in cls.settings_schema):
            cls.settings_schema = (*cls.settings_schema, SEND_RATE)

    @classmethod
    def validate_settings(cls, data: dict[str, Any]) -> dict[str, Any]:
        """The plugin's checks, and ``send_rate`` positive whatever the
        plugin's own ``check_settings`` says."""
        try:
            cleaned, errors = super().validate_settings(data), {}
        except SettingsError as exc:
            cleaned, errors = {}, dict(exc.errors)
        rate = data.get(SEND_RATE.name) if isinstance(data, dict) else None
        if (
            SEND_RATE.name not in errors
            and rate not in (None, "")
            and _clean_value(SEND_RATE, rate) <= 0
        ):
            errors[SEND_RATE.name] = "must be more than 0 messages per second (blank: no limit)"
        if errors:
            raise SettingsError(errors)
        return cleaned

    def __init__(self, settings: dict[str, Any], *, workspace=None):
        self.settings = settings
        self.workspace = workspace

    @classmethod
    def event_label(cls) -> str:
        """The prefix of delivery event names: "Email" → "Email Delivered"."""
        return cls.label or cls.name

    def address_for(self, profile) -> str | None:
        if self.address_kind:
            value = (
                profile.identities.filter(kind=self.address_kind)
                .order_by("-created_at", "-id")
                .values_list("value", flat=True)
                .first()
            )
            if value:
                return value
        if self.address_trait:
            value = (profile.traits or {}).get(self.address_trait)
            if value not in (None, ""):
                return str(value)
        return None

    def send(self, *, message, address: str) -> SendResult:
        raise NotImplementedError

    @contextmanager
    def session(self):
        """Sends made inside ``with channel.session():`` may share one
        connection to the provider: engage opens a session around each chunk
        of messages it sends, so a channel whose connection costs a handshake
        (an SMTP login, a TLS connection to an API) pays it once per chunk.
        The default does nothing; each ``send`` must still work without one.
        """
        yield

    def verify_webhook(self, request) -> bool:
        """Whether ``request`` really comes from the provider (its signature).

        engage answers 403 and reads nothing when this is False, which is the
        default: a channel that cannot verify its webhooks accepts none.
        """
        return False

    def parse_webhook(self, request) -> list[WebhookSignal]:
        """The signals in a verified webhook request; ValueError for a body
        that cannot be read (engage answers 400 with the reason)."""
        return []

    def webhook_challenge(self, request):
        """The answer to a provider's GET subscription check (e.g. Meta's
        ``hub.challenge``) as an HttpResponse, or None to refuse it."""
        return None

    def webhook_response(self, signals: list[WebhookSignal]):
        """The HttpResponse a provider expects after a webhook was stored, or
        None for engage's plain JSON acknowledgement."""
        return None


@dataclass(frozen=True)
class Run:
    """What a scoring model's SELECT may depend on, besides its own settings
    (``self.settings``).

    ``sql`` is engage's SQL dialect, so one query runs on PostgreSQL and on
    the embedded SQLite; ``kinds`` is a
    ``kinds(name, activity, delivery, response, channel)`` CTE and its
    parameters, naming the event names engage writes itself (a name not in it
    is something the customer did).
    """

    workspace_id: int
    as_of: datetime
    sql: Any
    kinds: tuple[str, list]


class ScoringModel(Plugin):
    """Scores every customer of a workspace at once, in SQL.

    Scoring one profile at a time would mean a million round trips at a
    million customers, and quintiles need the whole workspace anyway; so a
    model returns one SELECT and engage replaces the model's rows with its
    result in one INSERT ... SELECT. engage instantiates it with the
    workspace's validated settings of this plugin (its ``settings_schema``
    defaults when the workspace has no configuration row).
    """

    def __init__(self, settings: dict[str, Any] | None = None):
        self.settings = settings or {}

    def select(self, run: Run) -> tuple[str, list]:
        """SQL and parameters selecting ``profile_id, value, cell, components``
        (``cell`` may be NULL, ``components`` a JSON object)."""
        raise NotImplementedError


class Recommender(Plugin):
    """Picks catalog products for a batch of customers at once.

    A chunk of messages renders hundreds of customers, so ``recommend``
    answers for the whole batch in a query or two rather than one per
    customer. engage instantiates it with the workspace's validated settings
    (the schema's defaults without a configuration row), and drops from its
    answer what is not in the catalog, out of stock or already bought by that
    customer: a plugin need not check these, but one that leaves them in
    returns fewer than ``limit`` products.
    """

    def __init__(self, settings: dict[str, Any] | None = None):
        self.settings = settings or {}

    def recommend(self, *, workspace, profiles: list, limit: int) -> dict[int, list[str]]:
        """``{profile id: [product_id, ...]}``, best first, at most ``limit``
        each; a customer left out gets no recommendation."""
        raise NotImplementedError


@dataclass(frozen=True)
class ImportProblem:
    """A source record an importer could not turn into a call: yielded instead
    of the call, it is reported (``where`` places it, e.g. "line 7") and skipped."""

    where: str
    field: str
    reason: str


@dataclass(frozen=True)
class Checkpoint:
    """Yielded by an importer between pages of its source: everything yielded
    before it is stored, then ``cursor`` (JSON-able) is saved durably, and the
    next run starts from it (``Importer.cursor``). A run that fails resumes from
    its last checkpoint, and storage deduplicates what it reads again."""

    cursor: dict


class Importer(Plugin):
    """Reads customers and events from a source system (CRM, POS, support desk).

    engage instantiates it with validated settings; ``engage.events.importing``
    runs it (``manage.py import_source``).

    An importer that reads a file sets ``reads_file`` and never opens a path
    itself: engage opens the file and passes it as ``file`` (binary) — a file
    uploaded in the admin, one the server's operator names on the command
    line, or the importer's ``path`` setting, which engage keeps inside the
    workspace's import directory so one workspace cannot read another's files
    or the server's.
    """

    reads_file: ClassVar[bool] = False

    def __init__(self, settings: dict[str, Any], *, workspace=None, file=None, cursor=None):
        self.settings = settings
        self.workspace = workspace
        self.file = file
        #: the last saved ``Checkpoint.cursor`` of this importer in this
        #: workspace, or None on the first run
        self.cursor = cursor

    def read(self, *, workspace):
        """Yield Segment-spec calls (dicts) to ingest, as ``/v1/batch`` items,
        an ``ImportProblem`` for a source record that cannot be imported, and
        a ``Checkpoint`` after each page of a paged source.

        Give each call a stable ``messageId`` (derived from the source record's
        id): engage deduplicates on it, so running an import again stores
        nothing twice.
        """
        raise NotImplementedError
