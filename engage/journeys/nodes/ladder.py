"""``ladder``: the escalation ladder, one channel after another until the customer answers.

``{"type": "ladder", "order": "listed" | "preferred", "category": "marketing",
"topic": "cart", "rungs": [
    {"channel": "inapp", "template": "cart-inapp", "window": {"hours": 4}},
    {"channel": "push", "template": {"push": "cart-push", "webpush": "cart-web"},
     "window": {"hours": 4}},
    {"channel": "email", "template": "cart-email", "window": {"days": 1}},
    {"channel": "sms", "template": "cart-sms", "window": {"days": 1}}],
 "next": {"responded": "thanks", "exhausted": "done"}}``

It sends on the first rung the customer can be reached on (the channel
enabled, an address, consent: ``reach``), writing a ``skip`` row with the
reason for each rung passed over, then waits the rung's window for a
response: an open, click or reply, or any response event on any channel as
``scoring.kinds`` classifies them (the wake receiver wakes enrollments
waiting for ``RESPONSE``). A response leaves by ``responded`` and cancels
the ladder's messages still queued; a window that ends unanswered escalates
to the next reachable rung; past the last one it leaves by ``exhausted``.

A ``push`` rung is whichever of ``push`` and ``webpush`` the customer has an
address for; its ``template`` names a template of either, or maps each to
its own. ``order: preferred`` starts from the customer's preferred channel
(the ``responsiveness`` score's cell) and falls back along the list.
The rung reached, the order and the message sent are kept in
``Enrollment.state`` under the node's id.
"""

from datetime import datetime

from engage.messaging.models import Message, MessageDecision
from engage.messaging.services import NotCancellable, cancel_message
from engage.scoring.models import Score

from .. import graph, reach
from ..responses import RESPONSE, responded_since
from . import send

TYPE = "ladder"
RESPONDED = "responded"
EXHAUSTED = "exhausted"
PUSH = "push"
PUSH_CHANNELS = ("push", "webpush")
ORDERS = ("listed", "preferred")
MAX_RUNGS = 10
PREFERENCE_MODEL = "responsiveness"
REASON_RANK = {reach.NO_ADDRESS: 1, send.RENDER_FAILED: 2, reach.OPTED_OUT: 3, reach.NO_OPT_IN: 3}


def outcomes(node: dict) -> tuple[str, ...]:
    return (RESPONDED, EXHAUSTED)


def validate(checker, node: dict, path: str) -> None:
    optional = {"order", "category", "topic", "priority"}
    if not checker.fields(node, path, {"rungs"}, optional):
        return
    if node.get("order", "listed") not in ORDERS:
        checker.error(f"{path}.order", f"must be one of {', '.join(ORDERS)}")
    if "category" in node:
        checker.category(node["category"], f"{path}.category")
    send.validate_topic_and_priority(checker, node, path)
    rungs = node["rungs"]
    if not isinstance(rungs, list) or not 1 <= len(rungs) <= MAX_RUNGS:
        checker.error(f"{path}.rungs", f"must be a list of 1 to {MAX_RUNGS} rungs")
        return
    for i, rung in enumerate(rungs):
        _validate_rung(checker, rung, f"{path}.rungs[{i}]")


def _validate_rung(checker, rung, path: str) -> None:
    if not isinstance(rung, dict):
        checker.error(path, "must be an object of channel, template and window")
        return
    for name in sorted(set(rung) - {"channel", "template", "window"}):
        checker.error(f"{path}.{name}", "unknown field")
    for name in ("channel", "template", "window"):
        if name not in rung:
            checker.error(f"{path}.{name}", "is required")
    if "window" in rung:
        checker.duration(rung["window"], f"{path}.window")
    if "channel" not in rung or "template" not in rung:
        return
    channel, template = rung["channel"], rung["template"]
    if channel == PUSH and isinstance(template, dict):
        if not template or set(template) - set(PUSH_CHANNELS):
            checker.error(f"{path}.template", "must map push and/or webpush to a template name")
            return
        for kind, name in template.items():
            if checker.channel(kind, f"{path}.template.{kind}"):
                checker.template(name, f"{path}.template.{kind}", (kind,))
    elif channel == PUSH:
        checker.template(template, f"{path}.template", PUSH_CHANNELS)
    elif checker.channel(channel, f"{path}.channel"):
        checker.template(template, f"{path}.template", (channel,))


def run(batch) -> None:
    state = _State(batch)
    arrived, escalating, responded = [], [], []
    answered = _answered(batch)
    for enrollment in batch.enrollments:
        if not batch.woken(enrollment):
            arrived.append(enrollment)
        elif enrollment.wake_event_id is not None or enrollment.pk in answered:
            responded.append(enrollment)
        else:
            escalating.append(enrollment)
    _cancel(
        Message.objects.filter(
            journey_id=batch.journey.pk,
            journey_node_id=batch.node_id,
            enrollment_id__in=[enrollment.pk for enrollment in responded],
        ),
        "the customer responded",
    )
    for enrollment in responded:
        batch.go(enrollment, RESPONDED)
    preferred = _preferred(batch, arrived) if batch.node.get("order") == "preferred" else {}
    for enrollment in arrived:
        state.start(enrollment, preferred.get(enrollment.profile_id))
    earlier = {enrollment.pk: state.of(enrollment).get("message") for enrollment in escalating}
    for enrollment in escalating:
        state.step(enrollment)
    state.climb([*arrived, *escalating])
    # A rung's message still unsent when its window ended (quiet hours, a
    # cap) is not sent on top of the next rung's.
    superseded = [
        message
        for enrollment in escalating
        if (message := earlier[enrollment.pk]) not in (None, state.of(enrollment).get("message"))
    ]
    _cancel(Message.objects.filter(pk__in=superseded), "the ladder sent its next rung")


def _answered(batch) -> set[int]:
    """Enrollments woken at the end of a window that were answered all the
    same: a response event since the rung was sent (one query)."""
    sent = {}
    for enrollment in batch.enrollments:
        place = enrollment.state.get(batch.node_id) or {}
        if batch.woken(enrollment) and enrollment.wake_event_id is None and "sent_at" in place:
            sent[enrollment.profile_id] = (enrollment.pk, datetime.fromisoformat(place["sent_at"]))
    answered = responded_since({profile_id: at for profile_id, (_, at) in sent.items()})
    return {sent[profile_id][0] for profile_id in answered}


def _cancel(messages, reason: str) -> None:
    """Cancel those of ``messages`` that have not started sending."""
    for message in messages.filter(status__in=Message.READY):
        try:
            cancel_message(message=message, reason=reason)
        except NotCancellable:
            continue  # a worker took it meanwhile: it is being sent


def _preferred(batch, enrollments) -> dict[int, str]:
    """{profile id: preferred channel} from the responsiveness score."""
    rows = Score.objects.filter(
        profile_id__in=[enrollment.profile_id for enrollment in enrollments],
        model=PREFERENCE_MODEL,
    ).values_list("profile_id", "cell")
    return {profile_id: cell for profile_id, cell in rows if cell}


def _telling(why: tuple[str, str] | None) -> int:
    """How much a refusal says about the customer, so that a push rung
    reports "opted out" on push over "not enabled" on web push."""
    return -1 if why is None else REASON_RANK.get(why[0], 0)


def _channels(rung: dict) -> dict[str, str]:
    """{channel id: template name} the rung may send on, in the order tried."""
    channel, template = rung["channel"], rung["template"]
    if channel != PUSH:
        return {channel: template}
    if isinstance(template, dict):
        return {kind: template[kind] for kind in PUSH_CHANNELS if kind in template}
    return {kind: template for kind in PUSH_CHANNELS}


class _State:
    """Each enrollment's place on the ladder (``Enrollment.state[node id]``),
    and the climb that sends every one of them on its next reachable rung."""

    def __init__(self, batch):
        self.batch = batch
        self.rungs = batch.node["rungs"]
        self.category = batch.node.get("category", Message.MARKETING)
        self.topic = batch.node.get("topic", "")

    def of(self, enrollment) -> dict:
        return enrollment.state.setdefault(self.batch.node_id, {})

    def start(self, enrollment, preferred: str | None) -> None:
        order = list(range(len(self.rungs)))
        first = next(
            (i for i in order if preferred and preferred in _channels(self.rungs[i])), None
        )
        if first is not None:
            order.remove(first)
            order.insert(0, first)
        enrollment.state[self.batch.node_id] = {"order": order, "at": 0}

    def step(self, enrollment) -> None:
        self.of(enrollment)["at"] = self.of(enrollment).get("at", 0) + 1

    def rung_index(self, enrollment) -> int | None:
        place = self.of(enrollment)
        order = place.get("order") or list(range(len(self.rungs)))
        at = place.get("at", 0)
        return order[at] if at < len(order) else None

    def climb(self, enrollments) -> None:
        """Send each enrollment on its first reachable rung from where it
        stands, a round per rung: a few queries per rung, not per customer."""
        batch = self.batch
        pending = list(enrollments)
        profiles = send.profiles_of(pending) if pending else {}
        while pending:
            by_rung: dict[int, list] = {}
            for enrollment in pending:
                index = self.rung_index(enrollment)
                if index is None:
                    batch.go(enrollment, EXHAUSTED)
                else:
                    by_rung.setdefault(index, []).append(enrollment)
            pending = []
            for index, group in by_rung.items():
                pending += self._try_rung(index, group, profiles)

    def _try_rung(self, index: int, group: list, profiles: dict) -> list:
        """Send rung ``index`` to those of ``group`` it reaches; returns the
        others, moved one rung on, each with a ``skip`` row saying why."""
        batch, rung = self.batch, self.rungs[index]
        templates = send.templates_named(batch.workspace, _channels(rung).values())
        left = {enrollment.profile_id: enrollment for enrollment in group}
        why: dict[int, tuple[str, str]] = {}
        for channel_id, name in _channels(rung).items():
            if not left:
                break
            template = templates.get(name)
            candidates = [profiles[profile_id] for profile_id in left]
            if template is None or template.channel != channel_id:
                detail = f"no {channel_id} template named {name!r}"
                refused = {p.pk: (send.TEMPLATE_MISSING, detail) for p in candidates}
                reached: dict = {}
            else:
                _, reached, refused = reach.reachable(
                    workspace=batch.workspace,
                    channel_id=channel_id,
                    profiles=candidates,
                    category=self.category,
                    topic=self.topic,
                )
            for profile_id, reason in refused.items():
                if _telling(reason) >= _telling(why.get(profile_id)):
                    why[profile_id] = reason
            going = [left.pop(profile_id) for profile_id in reached]
            for enrollment, message, failure in self._send(
                index, channel_id, template, going, profiles
            ):
                if message is None:
                    why[enrollment.profile_id] = (send.RENDER_FAILED, failure)
                    left[enrollment.profile_id] = enrollment
        for enrollment in left.values():
            reason, detail = why[enrollment.profile_id]
            batch.ledger(
                enrollment,
                MessageDecision.SKIP,
                reason,
                detail=f"rung {index + 1}: {detail}",
                channel=rung["channel"],
            )
            self.step(enrollment)
        return list(left.values())

    def _send(self, index: int, channel_id: str, template, going: list, profiles: dict):
        """Queue the rung's message to each of ``going`` and park it for the
        rung's window; yields (enrollment, message or None, why it failed)."""
        batch, rung = self.batch, self.rungs[index]
        queued = send.queue_messages(
            batch,
            [(e, f"{batch.idempotency_key(e)}:rung{index}") for e in going],
            profiles=profiles,
            channel_id=channel_id,
            template=template,
            category=self.category,
            topic=self.topic,
            priority=batch.node.get("priority", 0),
        )
        window = graph.duration(rung["window"])
        for enrollment in going:
            message, failure = queued[enrollment.pk]
            if message is not None:
                self.of(enrollment).update(
                    message=message.pk, channel=channel_id, sent_at=batch.now.isoformat()
                )
                batch.ledger(
                    enrollment,
                    MessageDecision.SEND,
                    "queued",
                    detail=f"rung {index + 1}",
                    channel=channel_id,
                    message=message,
                )
                batch.wait(
                    enrollment,
                    batch.now + window,
                    event=RESPONSE,
                    reason="response_window",
                    detail=f"rung {index + 1} ({channel_id}): a response, or escalate",
                )
            yield enrollment, message, failure
