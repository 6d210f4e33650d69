"""Recording answers: a Feedback row, an event on the timeline, and the
workspace's response to it.

Every door (a signed link, an SMS or WhatsApp reply, ``POST /api/feedback``)
comes through ``record_answers``, so each answer is written, announced and
acted on the same way. A batch costs the same few statements as one answer:
one read of the keys already stored, one insert, one ``record_events``, one
update of the rows' event ids, then the actions (``actions.act``).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from engage.events.recording import EventToRecord, record_events
from engage.messaging.models import Message
from engage.profiles.models import Profile

from . import actions, scales
from .models import Feedback, Survey

MAX_COMMENT = 5000
MAX_KEY = Feedback._meta.get_field("key").max_length


class FeedbackInputError(ValueError):
    """An answer that cannot be recorded; ``field`` names what is wrong."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class Answer:
    """One answer to record. ``key`` makes it count once (the same key again
    returns the stored row); ``message`` is the survey message it answers."""

    profile: Profile
    kind: str
    score: int
    key: str
    source: str
    comment: str = ""
    channel: str = ""
    survey: Survey | None = None
    message: Message | None = None
    answered_at: datetime | None = None


def check(kind: str, score, comment: str = "") -> None:
    """FeedbackInputError naming the field when ``kind``, ``score`` or
    ``comment`` is not an answer engage accepts."""
    if kind not in scales.SCALES:
        raise FeedbackInputError("kind", f"must be one of {', '.join(scales.SCALES)}, not {kind!r}")
    low, high = scales.SCALES[kind]
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise FeedbackInputError("score", f"must be a whole number from {low} to {high} for {kind}")
    if len(comment) > MAX_COMMENT:
        raise FeedbackInputError("comment", f"at most {MAX_COMMENT} characters")


def record_answer(answer: Answer) -> tuple[Feedback, bool]:
    """``record_answers`` for one answer: (its row, whether it is new)."""
    return record_answers([answer])[0]


def record_answers(answers: list[Answer]) -> list[tuple[Feedback, bool]]:
    """Store each answer not stored already under its key, write its event
    (``NPS Submitted``, ``CSAT Submitted``, ``Effort Submitted``) and act on
    it; returns (row, new) per answer, in order. Refused whole, naming the
    field, when one answer is not valid."""
    for answer in answers:
        check(answer.kind, answer.score, answer.comment)
        if len(answer.key) > MAX_KEY:
            raise FeedbackInputError("key", f"at most {MAX_KEY} characters")
    now = timezone.now()
    with transaction.atomic():
        rows = {}
        for answer in answers:
            rows.setdefault((answer.profile.workspace_id, answer.key), _row(answer, now))
        inserted, stored = _insert(rows)
        if inserted:
            _record_events(inserted)
            actions.act(inserted)
    return [
        (
            inserted.get((a.profile.workspace_id, a.key))
            or stored[(a.profile.workspace_id, a.key)],
            (a.profile.workspace_id, a.key) in inserted,
        )
        for a in answers
    ]


def _row(answer: Answer, now: datetime) -> Feedback:
    message = answer.message
    return Feedback(
        workspace_id=answer.profile.workspace_id,
        profile=answer.profile,
        origin_profile_id=answer.profile.pk,
        survey=answer.survey,
        kind=answer.kind,
        score=answer.score,
        category=scales.category(answer.kind, answer.score),
        comment=answer.comment,
        channel=answer.channel or (message.channel if message else ""),
        source=answer.source,
        message=message,
        journey_id=message.journey_id if message else None,
        enrollment_id=message.enrollment_id if message else None,
        key=answer.key,
        answered_at=answer.answered_at or now,
    )


def _stored(keys) -> dict[tuple[int, str], Feedback]:
    by_workspace: dict[int, list[str]] = {}
    for workspace_id, key in keys:
        by_workspace.setdefault(workspace_id, []).append(key)
    stored = {}
    for workspace_id, ws_keys in by_workspace.items():
        for row in Feedback.objects.filter(workspace_id=workspace_id, key__in=ws_keys):
            stored[(workspace_id, row.key)] = row
    return stored


def _insert(rows: dict) -> tuple[dict, dict]:
    """(rows inserted, rows stored before under the same keys). A concurrent
    answer with the same key makes the insert fail; its keys are read back
    and the rest inserted again."""
    stored = _stored(rows)
    todo = {key: row for key, row in rows.items() if key not in stored}
    while todo:
        try:
            with transaction.atomic():
                Feedback.objects.bulk_create(todo.values())
            break
        except IntegrityError:
            taken = _stored(todo)
            if not taken:
                raise
            stored.update(taken)
            todo = {key: row for key, row in todo.items() if key not in taken}
    return todo, stored


def _properties(row: Feedback) -> dict:
    properties = {
        "score": row.score,
        "category": row.category,
        "comment": row.comment,
        "feedback_id": row.pk,
    }
    if row.survey_id:
        properties["survey"] = row.survey.name
    if row.channel:
        properties["channel"] = row.channel
    for name in ("message_id", "journey_id"):
        if getattr(row, name):
            properties[name] = getattr(row, name)
    return properties


def _record_events(inserted: dict) -> None:
    rows = list(inserted.values())
    recorded = record_events(
        [
            EventToRecord(
                workspace_id=row.workspace_id,
                profile_id=row.profile_id,
                name=scales.EVENT_NAMES[row.kind],
                message_id=f"engage:feedback:{row.pk}",
                timestamp=row.answered_at,
                properties=_properties(row),
                channel=row.channel,
            )
            for row in rows
        ]
    )
    by_message_id = {event.message_id: event.id for event in recorded}
    for row in rows:
        row.event_id = by_message_id.get(f"engage:feedback:{row.pk}")
    Feedback.objects.bulk_update([row for row in rows if row.event_id], ["event_id"])


def add_comment(feedback: Feedback, comment: str) -> Feedback:
    """Keep the comment given after the score (the follow-up page), once: a
    ``Feedback Commented`` event carries it to the timeline, and staff are
    told of a detractor's or low CSAT's comment."""
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise FeedbackInputError("comment", f"at most {MAX_COMMENT} characters")
    if not comment:
        return feedback
    with transaction.atomic():
        feedback = Feedback.objects.select_for_update().get(pk=feedback.pk)
        if feedback.comment:
            return feedback
        feedback.comment = comment
        feedback.save(update_fields=["comment"])
        record_events(
            [
                EventToRecord(
                    workspace_id=feedback.workspace_id,
                    profile_id=feedback.profile_id,
                    name=scales.COMMENT_EVENT,
                    message_id=f"engage:feedback:{feedback.pk}:comment",
                    timestamp=timezone.now(),
                    properties={"kind": feedback.kind, **_properties(feedback)},
                    channel=feedback.channel,
                )
            ]
        )
        actions.notify_comment(feedback)
    return feedback
