"""What a workspace does about an answer (``FeedbackSettings``).

A detractor or a low CSAT pauses marketing (reason ``detractor_pause``: the
send policy skips marketing with it, and the decision log says so), enters
the recovery journey with the answer's event as its trigger, and staff are
told (email and/or signed webhook, by a task after the commit, so a slow
mail server never holds the answer). A promoter enters the promoter journey.
An answer acts as of when it was given (``answered_at``): its pause starts
then, and an answer whose pause would already be over (older than a day
when the workspace sets no pause) is history, a backfill of last year's
answers, that pauses, enrolls and tells nobody. Runs inside the answer's
transaction: an answer is never stored without its pause.
"""

from datetime import timedelta

from django.utils import timezone

from engage.journeys import entry
from engage.messaging.models import MarketingPause
from engage.messaging.pauses import Start, start_pauses
from engage.server.publishing import publish_after_commit

from . import scales
from .models import Feedback, FeedbackSettings
from .tasks import notify_staff

# How long an answer is acted on when the workspace sets no pause.
NO_PAUSE_WINDOW = timedelta(days=1)


def settings_of(workspace_id: int) -> FeedbackSettings:
    """The workspace's settings, or the defaults."""
    found = FeedbackSettings.objects.filter(workspace_id=workspace_id).first()
    return found or FeedbackSettings(workspace_id=workspace_id)


def is_negative(row: Feedback, settings: FeedbackSettings) -> bool:
    """A detractor, or a low CSAT, by the workspace's thresholds."""
    if row.kind == scales.NPS:
        return row.score <= settings.detractor_max
    return row.kind == scales.CSAT and row.score <= settings.csat_low_max


def act(inserted: dict) -> None:
    """Act on newly stored answers, per workspace: one read of its settings,
    one pause write for all its negative answers, one entry per journey for
    all its customers."""
    by_workspace: dict[int, list[Feedback]] = {}
    for row in inserted.values():
        by_workspace.setdefault(row.workspace_id, []).append(row)
    now = timezone.now()
    for workspace_id, all_rows in by_workspace.items():
        settings = settings_of(workspace_id)
        window = timedelta(days=settings.pause_days) or NO_PAUSE_WINDOW
        rows = [row for row in all_rows if row.answered_at + window > now]
        negative = [row for row in rows if is_negative(row, settings)]
        promoters = [row for row in rows if row.category == scales.PROMOTER]
        if settings.pause_days:
            starts: dict[int, list[Start]] = {}
            for row in sorted(negative, key=lambda row: row.answered_at):
                starts.setdefault(row.profile_id, []).append(
                    Start(
                        row.answered_at,
                        row.answered_at + window,
                        _summary(row),
                        str(row.event_id or ""),
                    )
                )
            start_pauses(workspace_id=workspace_id, reason=MarketingPause.DETRACTOR, starts=starts)
        _enter(settings.recovery_journey, negative)
        _enter(settings.promoter_journey, promoters)
        if negative and (settings.notify_email or settings.notify_webhook_url):
            publish_after_commit(notify_staff, [row.pk for row in negative])


def notify_comment(row: Feedback) -> None:
    """Tell staff of a comment given after a negative score (on the follow-up page)."""
    settings = settings_of(row.workspace_id)
    if is_negative(row, settings) and (settings.notify_email or settings.notify_webhook_url):
        publish_after_commit(notify_staff, [row.pk])


def _summary(row: Feedback) -> str:
    text = f"{scales.EVENT_NAMES[row.kind].split()[0]} {row.score} ({row.category})"
    return f"{text}: {row.comment[:500]}" if row.comment else text


def _enter(journey, rows: list[Feedback]) -> None:
    if journey is None or not rows:
        return
    entry.enroll(
        journey=journey,
        profile_ids=[row.profile_id for row in rows],
        trigger_event_ids={row.profile_id: row.event_id for row in rows},
    )
