"""Creating messages.

``create_message`` renders the content and stores a ``queued`` Message; the
idempotency key makes a repeated request return the same message instead of
sending twice. Once the transaction commits it queues the ``send_message``
task, which runs ``sending.send_message``. A message for later (``send_at``)
waits in the queue with that time as its ``next_attempt_at``, the field a
deferral also sets, so the sweep sends it when due and policy runs then.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from engage.plugins.base import PermanentSendError, SendError
from engage.plugins.manager import UnknownPlugin, get_channel_class
from engage.plugins.selectors import enabled_channel
from engage.profiles.models import Profile
from engage.server.publishing import publish_after_commit
from engage.workspaces.models import Workspace

from . import rendering
from .models import Message, MessageDecision, MessageTemplate
from .sending import decide
from .tasks import send_message

# Longest reason kept in the decision log with a cancellation.
MAX_CANCEL_REASON = 1000

# A send further ahead is more likely a mistaken date than a plan.
MAX_SCHEDULE_AHEAD = timedelta(days=365)


class NotCancellable(Exception):
    """The message has left the queue (``status`` says where it is): a worker
    may already be handing it to the provider, so it can no longer be stopped."""

    def __init__(self, status: str):
        self.status = status
        super().__init__(
            f"the message is {status}; only queued or deferred messages can be cancelled"
        )


class MessageInputError(ValueError):
    """A send request that cannot be made; ``field`` names what is wrong."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class Created:
    message: Message
    created: bool


def create_message(
    *,
    workspace: Workspace,
    profile: Profile,
    channel: str,
    category: str,
    idempotency_key: str = "",
    template: MessageTemplate | None = None,
    content: rendering.Content | None = None,
    topic: str = "",
    priority: int = 0,
    event=None,
    defaults: dict | None = None,
    send_at: datetime | None = None,
    source: str = Message.API,
    journey_id: int | None = None,
    journey_version: int | None = None,
    journey_node_id: str | None = None,
    enrollment_id: int | None = None,
    send_now: bool = True,
) -> Created:
    """Store a queued message (or return the one already stored under
    ``idempotency_key``) and hand it to a worker after the commit.

    ``send_at`` is the earliest time to send; one already past sends now.
    ``source`` and the journey ids say what sent it, for the ledger and the admin.
    """
    now = timezone.now()
    if send_at is not None and send_at > now + MAX_SCHEDULE_AHEAD:
        raise MessageInputError(
            "send_at", f"must be at most {MAX_SCHEDULE_AHEAD.days} days ahead, not {send_at}"
        )
    sources = [value for value, _ in Message.SOURCES]
    if source not in sources:
        raise MessageInputError("source", f"must be one of {', '.join(sources)}, not {source!r}")
    if category not in Message.CATEGORY_RANK:
        raise MessageInputError(
            "category", f"must be one of {', '.join(Message.CATEGORY_RANK)}, not {category!r}"
        )
    try:
        get_channel_class(channel)
    except UnknownPlugin as exc:
        raise MessageInputError("channel", str(exc)) from None
    if idempotency_key:
        existing = Message.objects.filter(
            workspace=workspace, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return Created(existing, False)
    if (template is None) == (content is None):
        raise MessageInputError("template", "give either a template or content")
    if template is not None and template.channel != channel:
        raise MessageInputError(
            "template", f"template {template.name!r} is for {template.channel}, not {channel}"
        )
    locale = profile.locale or ""
    raw = rendering.variant(template, locale) if template is not None else content
    rendered = rendering.render(
        raw, rendering.profile_context(profile, event=event, defaults=defaults)
    )
    if not (rendered.body or rendered.html):
        raise MessageInputError("body", "the message has no content")
    due = max(send_at, now) if send_at is not None else now
    try:
        with transaction.atomic():
            message = Message.objects.create(
                workspace=workspace,
                profile=profile,
                channel=channel,
                category=category,
                topic=topic,
                priority=priority,
                template=template,
                locale=locale,
                subject=rendered.subject,
                body=rendered.body,
                html=rendered.html,
                idempotency_key=idempotency_key or f"engage:{uuid.uuid4()}",
                source=source,
                journey_id=journey_id,
                journey_version=journey_version,
                journey_node_id=journey_node_id,
                enrollment_id=enrollment_id,
                next_attempt_at=due,
            )
    except IntegrityError:
        # The same key committed by a concurrent request in the meantime.
        existing = Message.objects.get(workspace=workspace, idempotency_key=idempotency_key)
        return Created(existing, False)
    if send_now and due <= now:
        # Never fails the request once the message is committed: sweep_messages
        # sends a queued message whose publish was lost.
        publish_after_commit(send_message, message.pk, message.workspace_id)
    return Created(message, True)


def cancel_message(*, message: Message, reason: str = "") -> Message:
    """Cancel a queued or deferred message; ``reason`` goes to the decision log.

    The row lock makes it one or the other with a worker claiming the message:
    a claim that got there first has committed ``sending`` (NotCancellable),
    and a claim after the cancel finds nothing ready to send. Cancelling a
    cancelled message again changes nothing, so a retried request is safe.
    """
    if len(reason) > MAX_CANCEL_REASON:
        raise MessageInputError("reason", f"at most {MAX_CANCEL_REASON} characters")
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status == Message.CANCELLED:
            return message
        if message.status not in Message.READY:
            raise NotCancellable(message.status)
        message.status = Message.CANCELLED
        message.next_attempt_at = None
        message.save(update_fields=["status", "next_attempt_at", "updated_at"])
        decide(message, MessageDecision.CANCEL, "cancelled", reason)
    return message


class TemplateInvalid(ValueError):
    """A template refused on save; ``errors`` maps each bad field to its reasons."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class TemplateInUse(Exception):
    """A template still referenced; ``uses`` says by what, for the 409."""

    def __init__(self, uses: str):
        super().__init__(uses)
        self.uses = uses


def _template_errors(fields: dict, variants: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    sources = [(name, fields.get(name, ""), name == "html") for name in ("subject", "body", "html")]
    for locale, content in variants.items():
        for name in ("subject", "body", "html"):
            sources.append((f"variants.{locale}.{name}", content.get(name, ""), name == "html"))
    for path, source, html in sources:
        reason = rendering.syntax_error(source or "", html=html)
        if reason:
            errors[path] = [reason]
    return errors


def save_template(
    *, workspace: Workspace, template: MessageTemplate | None = None, **fields
) -> MessageTemplate:
    """Create or change a template; refused whole when any Liquid does not parse.

    A journey or API send renders the template later, so a syntax error found
    then would fail every message; finding it here names the field and line.
    """
    template = template or MessageTemplate(workspace=workspace)
    for name, value in fields.items():
        setattr(template, name, value)
    errors = _template_errors(
        {"subject": template.subject, "body": template.body, "html": template.html},
        template.variants or {},
    )
    try:
        get_channel_class(template.channel)
    except UnknownPlugin as exc:
        errors["channel"] = [str(exc)]
    if errors:
        raise TemplateInvalid(errors)
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise TemplateInvalid(
            {"name": [f"a template named {template.name!r} already exists"]}
        ) from None
    return template


def delete_template(template: MessageTemplate) -> None:
    """Delete a template nothing waiting to be sent uses.

    A queued or deferred message keeps its rendered content, but the template
    is how the ledger and the admin say what it was; journeys add their uses.
    """
    with transaction.atomic():
        waiting = (
            Message.objects.select_for_update()
            .filter(template=template, status__in=Message.READY)
            .values_list("pk", flat=True)
        )
        ids = list(waiting[:6])
        if ids:
            more = " and more" if len(ids) > 5 else ""
            raise TemplateInUse(
                f"used by queued or deferred messages {', '.join(map(str, ids[:5]))}{more}"
            )
        template.delete()


def preview_template(
    *, template: MessageTemplate, profile: Profile, locale: str | None = None
) -> tuple[str, rendering.Content]:
    """The locale chosen and the content as a send to ``profile`` would render it."""
    locale = profile.locale or "" if locale is None else locale
    content = rendering.render(
        rendering.variant(template, locale), rendering.profile_context(profile)
    )
    return locale, content


class TestSendRefused(Exception):
    """A test send that cannot go out; ``field`` names what to fix."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def send_test(
    *, template: MessageTemplate, to: str, profile: Profile | None = None, locale: str = ""
) -> str:
    """Send the template once to ``to`` through the workspace's channel; the provider's id.

    Nothing is stored: no message, no timeline event, no policy (the address is
    the sender's own). Without a profile, the template renders with empty traits.
    """
    if template.channel != "email":
        # Other channels' providers may need a stored message (an inbox entry).
        raise TestSendRefused("channel", "a test send is available for email templates only")
    channel = enabled_channel(workspace=template.workspace, channel_id=template.channel)
    if channel is None:
        raise TestSendRefused(
            "channel", f"{template.channel} is not enabled in this workspace (or misconfigured)"
        )
    if profile is not None:
        locale, content = preview_template(template=template, profile=profile, locale=locale)
    else:
        empty = {"profile": {}, "traits": {}, "event": {}, "scores": {}}
        content = rendering.render(rendering.variant(template, locale), empty)
    message = Message(
        workspace=template.workspace,
        channel=template.channel,
        category=Message.TRANSACTIONAL,
        subject=content.subject,
        body=content.body,
        html=content.html,
    )
    try:
        result = channel.send(message=message, address=to)
    except PermanentSendError as exc:
        raise TestSendRefused("to", f"the mail server refused it: {exc}") from None
    except SendError as exc:
        raise TestSendRefused("channel", f"the mail server did not take it: {exc}") from None
    return result.provider_message_id
