"""Survey fatigue at send time: a message that asks a survey (sent with one
of a survey's templates) is skipped, reason ``survey_fatigue``, for a
customer asked or who answered within the survey's ``fatigue_days``,
whichever channel asked. The skip and its detail go to the decision log.

It runs per message, as the hook does, at up to two queries for a survey
message and none for any other; the hook has no chunk to read at once as
``pauses.in_force`` does. Survey messages are few beside the rest, and the
chunk's other claimed messages (``claimed``) are counted from memory, so
two survey messages in one chunk on different channels do not both go."""

from engage.feedback.selectors import fatigue
from engage.plugins import hookimpl
from engage.plugins.base import SKIP, Decision

REASON = "survey_fatigue"


@hookimpl
def engage_check_send(message, profile, now, claimed):
    detail = fatigue(message, now, claimed)
    return Decision(SKIP, REASON, detail) if detail else None
