"""Creating messages.

``create_message`` renders the content and stores a ``queued`` Message; the
idempotency key makes a repeated request return the same message instead of
sending twice. ``create_messages`` does the same for a batch of customers
(a journey step, a broadcast) in a fixed number of queries: one look-up of
every key, one read of the customers' identities and scores, one insert.
Once the transaction commits the messages due now are handed to workers in
chunks (``send_messages``). A message for later (``send_at``) waits in the
queue with that time as its ``next_attempt_at``, the field a deferral also
sets, so the sweep sends it when due and policy runs then.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from engage.audit.services import record, snapshot
from engage.dialect import Dialect
from engage.plugins.base import PermanentSendError, SendError
from engage.plugins.manager import UnknownPlugin, get_channel_class
from engage.plugins.selectors import enabled_channel
from engage.profiles.models import Profile
from engage.server.publishing import publish_after_commit
from engage.workspaces.models import Workspace

from . import rendering
from .models import Message, MessageDecision, MessageTemplate
from .sending import chunk_size, decide, waiting_in_chunk
from .signals import template_in_use
from .tasks import send_messages

# Longest reason kept in the decision log with a cancellation.
MAX_CANCEL_REASON = 1000

# A send further ahead is more likely a mistaken date than a plan.
MAX_SCHEDULE_AHEAD = timedelta(days=365)

MAX_IDEMPOTENCY_KEY = Message._meta.get_field("idempotency_key").max_length


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


@dataclass(frozen=True)
class NewMessage:
    """One customer's message in a ``create_messages`` batch, and what sent it.

    ``send_at`` is the earliest time to send it (None or past: now); ``event``
    and ``defaults`` are what its template reads besides the customer.
    """

    profile: Profile
    idempotency_key: str
    send_at: datetime | None = None
    journey_id: int | None = None
    journey_version: int | None = None
    journey_node_id: str | None = None
    enrollment_id: int | None = None
    event: Any = None
    defaults: dict | None = None


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
    new = NewMessage(
        profile=profile,
        idempotency_key=idempotency_key,
        send_at=send_at,
        journey_id=journey_id,
        journey_version=journey_version,
        journey_node_id=journey_node_id,
        enrollment_id=enrollment_id,
        event=event,
        defaults=defaults,
    )
    return _create(
        workspace=workspace,
        channel=channel,
        category=category,
        template=template,
        content=content,
        topic=topic,
        priority=priority,
        source=source,
        send_now=send_now,
        messages=[new],
        field=lambda _, name: name,
    )[0]


def create_messages(
    *,
    workspace: Workspace,
    channel: str,
    category: str,
    template: MessageTemplate,
    messages: list[NewMessage],
    topic: str = "",
    priority: int = 0,
    source: str = Message.JOURNEY,
    send_now: bool = True,
) -> list[Created]:
    """``create_message`` for many customers at once, one ``Created`` per item
    in order; each customer's copy of ``template`` is rendered for them.

    A key already stored (or repeated in the batch) returns the stored row, so
    a journey step or broadcast run again sends nothing twice. Errors name the
    item, e.g. ``messages[3].send_at``; nothing is stored when one is refused.
    """
    if template is None:
        raise MessageInputError("template", "create_messages needs a template")
    return _create(
        workspace=workspace,
        channel=channel,
        category=category,
        template=template,
        content=None,
        topic=topic,
        priority=priority,
        source=source,
        send_now=send_now,
        messages=messages,
        field=lambda index, name: f"messages[{index}].{name}",
    )


def _create(
    *,
    workspace: Workspace,
    channel: str,
    category: str,
    template: MessageTemplate | None,
    content: rendering.Content | None,
    topic: str,
    priority: int,
    source: str,
    send_now: bool,
    messages: list[NewMessage],
    field: Callable[[int, str], str],
) -> list[Created]:
    now = timezone.now()
    for index, new in enumerate(messages):
        if new.send_at is not None and new.send_at > now + MAX_SCHEDULE_AHEAD:
            raise MessageInputError(
                field(index, "send_at"),
                f"must be at most {MAX_SCHEDULE_AHEAD.days} days ahead, not {new.send_at}",
            )
        if len(new.idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise MessageInputError(
                field(index, "idempotency_key"), f"at most {MAX_IDEMPOTENCY_KEY} characters"
            )
        if new.profile.workspace_id != workspace.pk:
            raise MessageInputError(field(index, "profile"), "not a customer of this workspace")
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
    keys = {new.idempotency_key for new in messages if new.idempotency_key}
    stored = _stored(workspace, keys)
    results: list[Created | None] = [None] * len(messages)
    todo: dict[str, tuple[int, NewMessage]] = {}
    for index, new in enumerate(messages):
        if new.idempotency_key in stored:
            results[index] = Created(stored[new.idempotency_key], False)
        elif new.idempotency_key not in todo:
            key = new.idempotency_key or f"engage:{uuid.uuid4()}"
            todo[key] = (index, new)
    if todo:
        if (template is None) == (content is None):
            raise MessageInputError("template", "give either a template or content")
        if template is not None and template.channel != channel:
            raise MessageInputError(
                "template", f"template {template.name!r} is for {template.channel}, not {channel}"
            )
        rows = _render(
            workspace=workspace,
            template=template,
            content=content,
            todo=todo,
            field=field,
            now=now,
            common={
                "channel": channel,
                "category": category,
                "topic": topic,
                "priority": priority,
                "source": source,
            },
        )
        inserted, raced = _insert(workspace, rows)
        for key, (index, _) in todo.items():
            if key in inserted:
                results[index] = Created(inserted[key], True)
            else:
                results[index] = Created(raced[key], False)
        if send_now:
            _publish([m for m in inserted.values() if m.next_attempt_at <= now], workspace)
    # Repeats of a key within the batch get the row its first use stored.
    first = {result.message.idempotency_key: result.message for result in results if result}
    return [
        result or Created(first[new.idempotency_key], False)
        for result, new in zip(results, messages, strict=True)
    ]


def _stored(workspace: Workspace, keys: set[str]) -> dict[str, Message]:
    if not keys:
        return {}
    rows = Message.objects.filter(workspace=workspace, idempotency_key__in=keys)
    return {message.idempotency_key: message for message in rows}


def _render(*, workspace, template, content, todo, field, now, common) -> dict[str, Message]:
    """The unsaved rows, each rendered for its customer (the context of every
    customer read at once)."""
    items = list(todo.items())
    contexts = rendering.profile_contexts(
        [(new.profile, new.event, new.defaults) for _, (_, new) in items], template=template
    )
    rows = {}
    for (key, (index, new)), context in zip(items, contexts, strict=True):
        locale = new.profile.locale or ""
        raw = rendering.variant(template, locale) if template is not None else content
        try:
            rendered = rendering.render(raw, context)
        except rendering.TemplateError as exc:
            raise rendering.TemplateError(field(index, str(exc))) from None
        if not (rendered.body or rendered.html):
            raise MessageInputError(field(index, "body"), "the message has no content")
        rows[key] = Message(
            workspace=workspace,
            profile=new.profile,
            origin_profile_id=new.profile.pk,
            template=template,
            locale=locale,
            subject=rendered.subject,
            body=rendered.body,
            html=rendered.html,
            idempotency_key=key,
            journey_id=new.journey_id,
            journey_version=new.journey_version,
            journey_node_id=new.journey_node_id,
            enrollment_id=new.enrollment_id,
            next_attempt_at=max(new.send_at, now) if new.send_at is not None else now,
            **common,
        )
    return rows


def _insert(
    workspace: Workspace, rows: dict[str, Message]
) -> tuple[dict[str, Message], dict[str, Message]]:
    """Insert the rows in one statement: (those inserted, those whose key a
    concurrent request committed first, as stored).

    A concurrent insert of the same key makes the statement fail once it
    commits; the keys it took are then read back and the rest inserted again.
    Rows go in key order, so two batches sharing keys wait on each other's
    first shared key instead of each holding one the other needs (deadlock).
    """
    raced: dict[str, Message] = {}
    while rows:
        try:
            with transaction.atomic():
                Message.objects.bulk_create([rows[key] for key in sorted(rows)])
            break
        except IntegrityError:
            taken = _stored(workspace, set(rows))
            if not taken:
                raise
            raced.update(taken)
            rows = {key: row for key, row in rows.items() if key not in taken}
    return rows, raced


def _publish(messages: list[Message], workspace: Workspace) -> None:
    """Hand the messages due now to workers in chunks after the commit. Never
    fails the request once the messages are committed: sweep_messages sends a
    queued message whose publish was lost."""
    ids = sorted(message.pk for message in messages)
    size = chunk_size()
    for start in range(0, len(ids), size):
        publish_after_commit(send_messages, ids[start : start + size], workspace.pk)


def cancel_message(*, message: Message, reason: str = "") -> Message:
    """Cancel a message not yet handed to the provider; ``reason`` goes to
    the decision log.

    That is a queued or deferred message, or one a worker has claimed in its
    chunk but not reached yet (``sending.waiting_in_chunk``). The row
    lock makes it one or the other with the worker: once the worker has
    committed that it is calling the provider the message is NotCancellable,
    and a worker reaching a cancelled message leaves it alone. Cancelling a
    cancelled message again changes nothing, so a retried request is safe.
    """
    if len(reason) > MAX_CANCEL_REASON:
        raise MessageInputError("reason", f"at most {MAX_CANCEL_REASON} characters")
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status == Message.CANCELLED:
            return message
        if message.status not in Message.READY and not waiting_in_chunk(message):
            raise NotCancellable(message.status)
        message.status = Message.CANCELLED
        message.next_attempt_at = None
        message.save(update_fields=["status", "next_attempt_at", "updated_at"])
        decide(message, MessageDecision.CANCEL, "cancelled", reason)
    return message


def cancel_unsent(messages: QuerySet[Message], *, detail: str, now: datetime | None = None) -> int:
    """Cancel every message of ``messages`` not yet handed to the provider, in
    one statement, and write each one's ledger row with its provenance.

    For stopping a journey or cancelling a broadcast, where ``cancel_message``
    (one row lock and round trip per message) would not scale. The same
    messages qualify: queued or deferred, or claimed in a worker's chunk but
    not reached (``sending`` with ``next_attempt_at`` still at ``sending_at``,
    which the worker re-reads before calling the provider). A message being
    handed over goes out.
    """
    at = Dialect().ts(now or timezone.now())
    chosen, params = messages.order_by().values("id").query.sql_with_params()
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, next_attempt_at = NULL, updated_at = %s"  # noqa: S608 - the table is the model's, the subquery is the ORM's, values are params
            f" WHERE id IN ({chosen}) AND (status IN (%s, %s)"
            " OR (status = %s AND next_attempt_at = sending_at))"
            " RETURNING id, workspace_id, profile_id, channel, source, journey_id,"
            " journey_version, journey_node_id, enrollment_id",
            [Message.CANCELLED, at, *params, *Message.READY, Message.SENDING],
        )
        cancelled = cursor.fetchall()
    MessageDecision.objects.bulk_create(
        (
            MessageDecision(
                workspace_id=workspace_id,
                profile_id=profile_id,
                origin_profile_id=profile_id,
                message_id=message_id,
                channel=channel,
                action=MessageDecision.CANCEL,
                reason="cancelled",
                detail=detail,
                source=MessageDecision.MESSAGE if source == Message.API else source,
                journey_id=journey_id,
                journey_version=version,
                journey_node_id=node_id,
                enrollment_id=enrollment_id,
            )
            for (
                message_id,
                workspace_id,
                profile_id,
                channel,
                source,
                journey_id,
                version,
                node_id,
                enrollment_id,
            ) in cancelled
        ),
        batch_size=1000,
    )
    return len(cancelled)


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
    before = snapshot(template) if template is not None and template.pk else None
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
            record(
                workspace_id=template.workspace_id,
                action="changed" if before else "created",
                obj=template,
                before=before,
                after=snapshot(template),
            )
    except IntegrityError:
        raise TemplateInvalid(
            {"name": [f"a template named {template.name!r} already exists"]}
        ) from None
    return template


def delete_template(template: MessageTemplate) -> None:
    """Delete a template nothing waiting to be sent uses.

    A queued or deferred message keeps its rendered content, but the template
    is how the ledger and the admin say what it was. Apps that send by
    template name (journeys) say what of theirs still needs it through
    ``template_in_use``.
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
        for _receiver, uses in template_in_use.send(sender=MessageTemplate, template=template):
            if uses:
                raise TemplateInUse(uses)
        record(
            workspace_id=template.workspace_id,
            action="deleted",
            obj=template,
            before=snapshot(template),
        )
        template.delete()


def preview_template(
    *, template: MessageTemplate, profile: Profile, locale: str | None = None
) -> tuple[str, rendering.Content]:
    """The locale chosen and the content as a send to ``profile`` would render it."""
    locale = profile.locale or "" if locale is None else locale
    content = rendering.render(
        rendering.variant(template, locale), rendering.profile_context(profile, template=template)
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
