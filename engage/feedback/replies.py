"""Reading a customer's text reply to an SMS or WhatsApp survey as an answer.

"9", "nine", "9 great service", "10/10", "8 out of 10 - slow delivery": the
score comes first (digits or an English number word), optionally "/N" or
"out of N", and whatever follows is the comment. A reply that does not start
with a score in the survey's scale ("call me", "99", "STOP") is not an answer
and is left alone: it stays an ordinary inbound message on the timeline.
"""

import re
from datetime import timedelta

from django.db.models import Exists, OuterRef, Subquery

from engage.events.models import Event
from engage.messaging.models import Message
from engage.messaging.policy import SLOT_STATUSES
from engage.profiles.models import Profile

from . import scales
from .models import MAX_DAYS, Feedback, Survey
from .services import MAX_COMMENT, Answer

INBOUND_SUFFIX = " Message Received"

WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_REPLY = re.compile(
    r"^\s*(?P<score>\d{1,2}|" + "|".join(WORDS) + r")\b"
    r"(?:\s*(?:/|out\s+of)\s*(?P<out_of>\d{1,2}))?"
    r"[\s.!,:;)\-\u2013\u2014]*(?P<comment>.*)$",
    re.IGNORECASE | re.DOTALL,
)


def parse(text: str, kind: str) -> tuple[int, str] | None:
    """(score, comment) when ``text`` answers a ``kind`` survey, else None."""
    match = _REPLY.match(text or "")
    if match is None:
        return None
    raw = match["score"].lower()
    score = WORDS[raw] if raw in WORDS else int(raw)
    low, high = scales.SCALES[kind]
    if match["out_of"] is not None and int(match["out_of"]) != high:
        return None
    if not low <= score <= high:
        return None
    return score, match["comment"].strip()


def answers_in(events) -> list:
    """The answers among a chunk of announced events: inbound messages
    ("SMS Message Received", "WhatsApp Message Received"...) from customers
    sent a survey message on that channel within its ``answer_days`` before,
    not answered yet. One query for the chunk when it holds an inbound
    message, none otherwise; the latest survey message is the one answered.
    """
    inbound = [e for e in events if e.name.endswith(INBOUND_SUFFIX) and e.channel]
    if not inbound:
        return []
    texts = dict(
        Event.objects.filter(pk__in=[e.id for e in inbound]).values_list("pk", "properties")
    )
    earliest = min(e.timestamp for e in inbound) - timedelta(days=MAX_DAYS)
    asked = (
        Message.objects.filter(
            profile_id__in={e.profile_id for e in inbound},
            channel__in={e.channel for e in inbound},
            status__in=SLOT_STATUSES,
            sending_at__gte=earliest,
        )
        .filter(~Exists(Feedback.objects.filter(message_id=OuterRef("pk"))))
        .annotate(
            survey_id=Subquery(
                Survey.templates.through.objects.filter(
                    messagetemplate_id=OuterRef("template_id")
                ).values("survey_id")[:1]
            )
        )
        .filter(survey_id__isnull=False)
        .order_by("-sending_at")
    )
    asked = list(asked)
    surveys = Survey.objects.in_bulk({m.survey_id for m in asked})
    profiles = Profile.objects.in_bulk({e.profile_id for e in inbound})
    answers, taken = [], set()
    for event in inbound:
        for message in asked:
            survey = surveys[message.survey_id]
            if (
                message.profile_id != event.profile_id
                or message.channel != event.channel
                or message.pk in taken
                or not event.timestamp - timedelta(days=survey.answer_days)
                <= message.sending_at
                <= event.timestamp
            ):
                continue
            text = (texts.get(event.id) or {}).get("text", "")
            parsed = parse(text if isinstance(text, str) else "", survey.kind)
            if parsed is not None:
                taken.add(message.pk)
                answers.append(
                    Answer(
                        profile=profiles[event.profile_id],
                        kind=survey.kind,
                        score=parsed[0],
                        comment=parsed[1][:MAX_COMMENT],
                        key=f"reply:{event.id}",
                        source=Feedback.REPLY,
                        channel=event.channel,
                        survey=survey,
                        message=message,
                        answered_at=event.timestamp,
                    )
                )
            break
    return answers
