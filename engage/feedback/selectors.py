"""Reading feedback: survey messages, fatigue, and the reports.

The report functions are what the API (``GET /api/feedback/report``) and the
admin dashboard call. Each takes the workspace, the kind (``nps``, ``csat``,
``effort``) and a half-open date range ``[since, until)`` of answer times
(aware datetimes), and runs one grouped query:

- ``over_time``: per day, week (starting Monday) or month, in UTC: answers,
  average score and, for NPS, promoters, passives, detractors and the NPS
  (promoters % minus detractors %, -100 to 100);
- ``breakdown``: the same figures per channel or per journey (answers not
  from a journey have journey ``None``), each with its response rate;
- ``response_rates``: survey messages sent in the range (handed to the
  provider), the answers to them, and answers ÷ messages, per channel.
"""

import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from engage.messaging.models import Message
from engage.messaging.policy import SLOT_STATUSES

from . import scales
from .models import Feedback, Survey

INTERVALS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
GROUPS = {"channel": "channel", "journey": "journey_id"}


def survey_template_ids(workspace_id: int) -> QuerySet:
    """The ids of the templates that ask any of the workspace's surveys, as a subquery."""
    return Survey.templates.through.objects.filter(survey__workspace_id=workspace_id).values(
        "messagetemplate_id"
    )


def survey_messages(workspace_id: int) -> QuerySet[Message]:
    """The workspace's messages that asked a survey and were handed to (or
    possibly to) the provider."""
    return Message.objects.filter(
        workspace_id=workspace_id,
        template_id__in=survey_template_ids(workspace_id),
        status__in=SLOT_STATUSES,
    )


# How long a worker keeps a workspace's survey templates: a send checks every
# templated message, and reading them once per message would add a query to
# each send. A template added to a survey counts within this long.
SURVEY_TEMPLATES_TTL_SECONDS = 30.0
_survey_templates: dict[int, tuple[float, dict[int, int]]] = {}


def survey_template_fatigue(workspace_id: int) -> dict[int, int]:
    """``{template id: fatigue days}`` of the workspace's survey templates
    (the longest when two surveys share one), kept for a short while."""
    now = time.monotonic()
    cached = _survey_templates.get(workspace_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    days: dict[int, int] = {}
    rows = Survey.templates.through.objects.filter(survey__workspace_id=workspace_id)
    for template_id, fatigue_days in rows.values_list("messagetemplate_id", "survey__fatigue_days"):
        days[template_id] = max(days.get(template_id, 0), fatigue_days)
    _survey_templates[workspace_id] = (now + SURVEY_TEMPLATES_TTL_SECONDS, days)
    return days


def fatigue(message: Message, now: datetime, claimed: Sequence[Message] = ()) -> str | None:
    """Why ``message`` must not ask its survey now, or None.

    Only a message sent with a survey's template asks; it must not go to a
    customer who was asked (a survey message handed to the provider, or one
    of ``claimed``, let through in the same chunk and not yet written) or
    who answered (through any door) within that survey's ``fatigue_days``,
    whichever survey and channel it was. Up to two queries for a survey
    message; none for any other (the survey templates are kept a while)."""
    if message.template_id is None:
        return None
    templates = survey_template_fatigue(message.workspace_id)
    days = templates.get(message.template_id)
    if not days:
        return None
    if any(other.template_id in templates for other in claimed):
        return f"the customer was asked for feedback within the last {days} days"
    since = now - timedelta(days=days)
    asked = (
        survey_messages(message.workspace_id)
        .filter(profile_id=message.profile_id, sending_at__gte=since)
        .exclude(pk=message.pk)
    )
    answered = Feedback.objects.filter(profile_id=message.profile_id, answered_at__gte=since)
    if asked.exists():
        return f"the customer was asked for feedback within the last {days} days"
    if answered.exists():
        return f"the customer gave feedback within the last {days} days"
    return None


def _answers(workspace_id: int, kind: str, since: datetime, until: datetime) -> QuerySet:
    return Feedback.objects.filter(
        workspace_id=workspace_id, kind=kind, answered_at__gte=since, answered_at__lt=until
    )


def _figures(kind: str) -> dict:
    figures = {"answers": Count("id"), "average": Avg("score")}
    if kind == scales.NPS:
        for name in (scales.PROMOTER, scales.PASSIVE, scales.DETRACTOR):
            figures[f"{name}s"] = Count("id", filter=Q(category=name))
    return figures


def _finish(row: dict, kind: str) -> dict:
    row["average"] = round(row["average"], 2) if row["average"] is not None else None
    if kind == scales.NPS:
        answers = row["answers"]
        row["nps"] = (
            round(100 * (row["promoters"] - row["detractors"]) / answers, 1) if answers else None
        )
    return row


def over_time(
    *, workspace_id: int, kind: str, since: datetime, until: datetime, interval: str = "week"
) -> list[dict]:
    """``[{period, answers, average, (NPS:) promoters, passives, detractors,
    nps}]`` per period with answers, oldest first."""
    rows = (
        _answers(workspace_id, kind, since, until)
        .annotate(period=INTERVALS[interval]("answered_at"))
        .values("period")
        .annotate(**_figures(kind))
        .order_by("period")
    )
    return [_finish(dict(row), kind) for row in rows]


def breakdown(
    *, workspace_id: int, kind: str, since: datetime, until: datetime, by: str = "channel"
) -> list[dict]:
    """``[{channel or journey_id, answers, average, (NPS:) ..., nps,
    surveys_sent, response_rate}]`` per channel (or journey), most answers
    first. ``surveys_sent`` counts survey messages sent in the range on that
    channel (journey); the rate is answers to them ÷ them."""
    column = GROUPS[by]
    rows = (
        _answers(workspace_id, kind, since, until)
        .values(column)
        .annotate(**_figures(kind))
        .order_by("-answers", column)
    )
    rates = {
        row[column]: row
        for row in response_rates(
            workspace_id=workspace_id, kind=kind, since=since, until=until, by=by
        )
    }
    result = []
    for row in rows:
        row = _finish(dict(row), kind)
        rate = rates.get(row[column], {})
        row["surveys_sent"] = rate.get("surveys_sent", 0)
        row["response_rate"] = rate.get("response_rate")
        result.append(row)
    return result


def response_rates(
    *, workspace_id: int, kind: str, since: datetime, until: datetime, by: str = "channel"
) -> list[dict]:
    """``[{channel or journey_id, surveys_sent, answered, response_rate}]``:
    messages of the workspace's ``kind`` surveys sent in the range, and how
    many of them got an answer (0 to 1), per channel (journey)."""
    column = GROUPS[by]
    templates = Survey.templates.through.objects.filter(
        survey__workspace_id=workspace_id, survey__kind=kind
    ).values("messagetemplate_id")
    answered = Feedback.objects.filter(message_id=OuterRef("pk"))
    rows = (
        Message.objects.filter(
            workspace_id=workspace_id,
            template_id__in=templates,
            status__in=SLOT_STATUSES,
            sending_at__gte=since,
            sending_at__lt=until,
        )
        .values(column)
        .annotate(
            surveys_sent=Count("id"),
            answered=Count("id", filter=Exists(answered)),
        )
        .order_by(column)
    )
    return [
        {
            column: row[column],
            "surveys_sent": row["surveys_sent"],
            "answered": row["answered"],
            "response_rate": round(row["answered"] / row["surveys_sent"], 4),
        }
        for row in rows
    ]


def summary(*, workspace_id: int, kind: str, since: datetime, until: datetime) -> dict:
    """The whole range at once: answers, average, (NPS:) the categories and
    the NPS, surveys sent and the response rate."""
    row = _answers(workspace_id, kind, since, until).aggregate(**_figures(kind))
    row = _finish(row, kind)
    rates = response_rates(workspace_id=workspace_id, kind=kind, since=since, until=until)
    sent = sum(rate["surveys_sent"] for rate in rates)
    answered = sum(rate["answered"] for rate in rates)
    row["surveys_sent"] = sent
    row["response_rate"] = round(answered / sent, 4) if sent else None
    return row
