"""``send``: queue one message per customer through messaging, then go on.

``{"type": "send", "channel": "email", "template": "welcome",
"category": "marketing", "topic": "news", "priority": 10, "next": "pause"}``

The messages of a whole batch are rendered and stored at once
(``create_messages``), each under the step's idempotency key, so a step run
again after a crash finds the message it created instead of sending twice.
Policy (consent, quiet hours, caps) still runs when a worker sends it, and
writes its own skip or deferral to the ledger. A customer without an address
on the channel is a ``skip`` row (``no_address``) here, and goes on all the same.
"""

from engage.events.models import Event
from engage.messaging import rendering
from engage.messaging.models import Message, MessageDecision, MessageTemplate
from engage.messaging.services import MessageInputError, NewMessage, create_messages
from engage.plugins.selectors import enabled_config
from engage.profiles.models import Profile

from .. import graph, reach

TYPE = "send"
MAX_TOPIC = 64
PRIORITY = (-100, 100)
RENDER_FAILED = "render_failed"
TEMPLATE_MISSING = "template_missing"


def outcomes(node: dict) -> tuple[str, ...]:
    return (graph.NEXT,)


def validate(checker, node: dict, path: str) -> None:
    if not checker.fields(node, path, {"channel", "template", "category"}, {"topic", "priority"}):
        return
    if checker.channel(node["channel"], f"{path}.channel"):
        if enabled_config(workspace=checker.workspace, plugin_id=node["channel"]) is None:
            # A ladder passes over a disabled channel; a send node has no other.
            checker.error(f"{path}.channel", "not enabled in this workspace (enable the plugin)")
        checker.template(node["template"], f"{path}.template", (node["channel"],))
    checker.category(node["category"], f"{path}.category")
    validate_topic_and_priority(checker, node, path)


def validate_topic_and_priority(checker, node: dict, path: str) -> None:
    """The optional consent ``topic`` and campaign ``priority`` a message node carries."""
    if "topic" in node:
        checker.text(node["topic"], f"{path}.topic", MAX_TOPIC)
    if "priority" in node:
        checker.integer(node["priority"], f"{path}.priority", *PRIORITY)


def run(batch) -> None:
    node = batch.node
    channel_id = node["channel"]
    profiles = profiles_of(batch.enrollments)
    template = templates_named(batch.workspace, [node["template"]]).get(node["template"])
    # Consent is policy's to judge when the message is sent (and to write to
    # the ledger); a send node only needs somewhere to send it.
    _, _, refused = reach.addressed(
        workspace=batch.workspace, channel_id=channel_id, profiles=list(profiles.values())
    )
    if template is None:
        detail = f"no template named {node['template']!r} for {channel_id}"
        refused = {pk: (TEMPLATE_MISSING, detail) for pk in profiles}
    going = []
    for enrollment in batch.enrollments:
        why = refused.get(enrollment.profile_id)
        if why is None:
            going.append(enrollment)
        else:
            batch.go(
                enrollment,
                action=MessageDecision.SKIP,
                reason=why[0],
                detail=why[1],
                channel=channel_id,
            )
    queued = queue_messages(
        batch,
        [(enrollment, batch.idempotency_key(enrollment)) for enrollment in going],
        profiles=profiles,
        channel_id=channel_id,
        template=template,
        category=node["category"],
        topic=node.get("topic", ""),
        priority=node.get("priority", 0),
    )
    for enrollment in going:
        message, failure = queued[enrollment.pk]
        if message is None:
            batch.go(
                enrollment,
                action=MessageDecision.SKIP,
                reason=RENDER_FAILED,
                detail=failure,
                channel=channel_id,
            )
        else:
            batch.go(
                enrollment,
                action=MessageDecision.SEND,
                reason="queued",
                channel=channel_id,
                message=message,
            )


def profiles_of(enrollments) -> dict[int, Profile]:
    return Profile.objects.in_bulk({enrollment.profile_id for enrollment in enrollments})


def templates_named(workspace, names) -> dict[str, MessageTemplate]:
    return {
        template.name: template
        for template in MessageTemplate.objects.filter(workspace=workspace, name__in=set(names))
    }


def queue_messages(
    batch,
    items: list[tuple],
    *,
    profiles: dict[int, Profile],
    channel_id: str,
    template: MessageTemplate,
    category: str,
    topic: str = "",
    priority: int = 0,
) -> dict[int, tuple[Message | None, str]]:
    """Store a message for each ``(enrollment, idempotency key)`` of ``items``
    with the step's provenance: {enrollment id: (message, "") or (None, why)}.

    The whole batch is rendered and stored in one call; a template that
    renders to nothing (or fails) for one customer refuses the call, and
    then each is stored alone so only that customer is skipped.
    """
    if not items:
        return {}
    events = Event.objects.in_bulk(
        {e.trigger_event_id for e, _ in items if e.trigger_event_id is not None}
    )
    new = [
        NewMessage(
            profile=profiles[enrollment.profile_id],
            idempotency_key=key,
            journey_id=batch.journey.pk,
            journey_version=batch.version.number,
            journey_node_id=batch.node_id,
            enrollment_id=enrollment.pk,
            event=events.get(enrollment.trigger_event_id),
        )
        for enrollment, key in items
    ]

    def create(messages):
        return create_messages(
            workspace=batch.workspace,
            channel=channel_id,
            category=category,
            template=template,
            messages=messages,
            topic=topic,
            priority=priority,
            source=Message.JOURNEY,
        )

    try:
        created = create(new)
    except (MessageInputError, rendering.TemplateError) as exc:
        if len(new) == 1:
            return {items[0][0].pk: (None, str(exc))}
    else:
        return {e.pk: (c.message, "") for (e, _), c in zip(items, created, strict=True)}
    results = {}
    for (enrollment, _), one in zip(items, new, strict=True):
        try:
            results[enrollment.pk] = (create([one])[0].message, "")
        except (MessageInputError, rendering.TemplateError) as exc:
            results[enrollment.pk] = (None, str(exc))
    return results
