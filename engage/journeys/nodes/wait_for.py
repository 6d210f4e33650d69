"""``wait_for``: wait for an event, or for a response to a message, with a timeout.

``{"type": "wait_for", "event": "Order Completed", "where": [...],
"timeout": {"days": 3}, "next": {"matched": "thanks", "timeout": "reminder"}}``
waits for the customer's next event of that name passing the property
filters; ``{"type": "wait_for", "response_to": "welcome", "timeout":
{"days": 2}, ...}`` waits for a response to the message the earlier send or
ladder node ``welcome`` sent: an open, click or reply of it, or any
response event on any channel as ``scoring.kinds`` classifies them.

The enrollment parks with ``waiting_for`` (the event name, or
``responses.RESPONSE``) and ``next_run_at`` at the timeout; the wake
receiver (``wakes``) makes it due when a matching event is recorded, and it
leaves by ``matched``; otherwise by ``timeout`` when the time comes. A
response to the message that came before the wait began (during an earlier
wait, say) counts at once, and one recorded without a wake (a lost
announcement) is found when the timeout comes, so none is missed.
"""

from django.db.models import Min

from engage.messaging.models import Message

from .. import graph
from ..responses import RESPONSE, responded_since

TYPE = "wait_for"
AT_ENTRY = True
MATCHED = "matched"
TIMEOUT = "timeout"
SENDING_TYPES = ("send", "ladder")


def outcomes(node: dict) -> tuple[str, ...]:
    return (MATCHED, TIMEOUT)


def validate(checker, node: dict, path: str) -> None:
    if not checker.fields(node, path, {"timeout"}, {"event", "where", "response_to"}):
        return
    checker.duration(node["timeout"], f"{path}.timeout")
    if ("event" in node) == ("response_to" in node):
        checker.error(path, "must have either event or response_to")
    elif "event" in node:
        checker.event_name(node["event"], f"{path}.event")
        checker.filters(node.get("where", []), path)
    else:
        if "where" in node:
            checker.error(f"{path}.where", "only with event")
        checker.earlier_node(node["response_to"], f"{path}.response_to", SENDING_TYPES)


def run(batch) -> None:
    node = batch.node
    arrived, timed_out = [], []
    for enrollment in batch.enrollments:
        if not batch.woken(enrollment):
            arrived.append(enrollment)
        elif enrollment.wake_event_id is not None:
            batch.go(enrollment, MATCHED)
        else:
            timed_out.append(enrollment)
    answered = set()
    if "response_to" in node:
        answered = _answered(batch, arrived + timed_out)
    for enrollment in timed_out:
        batch.go(enrollment, MATCHED if enrollment.pk in answered else TIMEOUT)
    until = batch.now + graph.duration(node["timeout"])
    for enrollment in arrived:
        if enrollment.pk in answered:
            batch.go(enrollment, MATCHED)
        elif "response_to" in node:
            batch.wait(
                enrollment,
                until,
                event=RESPONSE,
                reason="response",
                detail=f"a response to {node['response_to']}",
            )
        else:
            batch.wait(enrollment, until, event=node["event"], reason="event", detail=node["event"])


def _answered(batch, enrollments) -> set[int]:
    """The enrollments whose message from the ``response_to`` node has been
    opened, clicked or replied to, or whose customer responded on any
    channel since it was created (two queries)."""
    if not enrollments:
        return set()
    by_id = {enrollment.pk: enrollment for enrollment in enrollments}
    rows = (
        Message.objects.filter(
            profile_id__in={e.profile_id for e in enrollments},
            enrollment_id__in=list(by_id),
            journey_node_id=batch.node["response_to"],
        )
        .values("enrollment_id")
        .annotate(
            sent=Min("created_at"),
            opened=Min("opened_at"),
            clicked=Min("clicked_at"),
            replied=Min("replied_at"),
        )
    )
    answered, since = set(), {}
    for row in rows:
        enrollment = by_id[row["enrollment_id"]]
        if row["opened"] or row["clicked"] or row["replied"]:
            answered.add(enrollment.pk)
        else:
            since[enrollment.profile_id] = row["sent"]
    # With no message to answer (its send was skipped), a response since the
    # wait began counts; only a timed-out wait has been waiting.
    began = batch.now - graph.duration(batch.node["timeout"])
    for enrollment in enrollments:
        waited = batch.woken(enrollment) and enrollment.profile_id not in since
        if waited and enrollment.pk not in answered:
            since[enrollment.profile_id] = began
    responders = responded_since(since)
    answered |= {e.pk for e in enrollments if e.profile_id in responders}
    return answered
