"""Survey fatigue at send time: a message that asks a survey (sent with one
of a survey's templates) is skipped, reason ``survey_fatigue``, for a
customer asked or who answered within the survey's ``fatigue_days``,
whichever channel asked. The skip and its detail go to the decision log."""

from engage.feedback.selectors import fatigue
from engage.plugins import hookimpl
from engage.plugins.base import SKIP, Decision

REASON = "survey_fatigue"


@hookimpl
def engage_check_send(message, profile, now):
    detail = fatigue(message, now)
    return Decision(SKIP, REASON, detail) if detail else None
