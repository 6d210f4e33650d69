"""Reads of a customer's scores, for the API, the admin and message templates."""

from dataclasses import dataclass
from datetime import date

from engage.profiles.models import Profile

from .models import Score, ScoreHistory
from .services import week_of

HISTORY_WEEKS = 12


@dataclass(frozen=True)
class ScoreView:
    score: Score
    previous_value: float | None
    trend: str | None  # up, down, flat; None without an earlier week
    history: list[ScoreHistory]


def trend(value: float, previous: float | None) -> str | None:
    if previous is None:
        return None
    if abs(value - previous) < 1e-9:
        return "flat"
    return "up" if value > previous else "down"


def profile_scores(profile: Profile) -> list[ScoreView]:
    """Every score of the profile, with the last weeks of history and the trend
    against the latest week before the one the score was computed in."""
    scores = list(Score.objects.filter(profile=profile).order_by("model"))
    rows = ScoreHistory.objects.filter(profile=profile).order_by("model", "-week")
    by_model: dict[str, list[ScoreHistory]] = {}
    for row in rows:
        by_model.setdefault(row.model, []).append(row)
    views = []
    for score in scores:
        history = by_model.get(score.model, [])[:HISTORY_WEEKS]
        this_week: date = week_of(score.computed_at)
        earlier = next((row for row in history if row.week < this_week), None)
        previous = earlier.value if earlier else None
        views.append(ScoreView(score, previous, trend(score.value, previous), history))
    return views


def template_scores(profile: Profile) -> dict[str, dict]:
    """The profile's current scores as message templates read them:
    ``{model: {"value": ..., "cell": ...}}``, so ``{{ scores.rfm.cell }}``."""
    return template_scores_of([profile.pk]).get(profile.pk, {})


def template_scores_of(profile_ids: list[int]) -> dict[int, dict[str, dict]]:
    """``template_scores`` of many profiles in one query, for a batch of messages."""
    rows = Score.objects.filter(profile_id__in=profile_ids).values_list(
        "profile_id", "model", "value", "cell"
    )
    scores: dict[int, dict[str, dict]] = {}
    for profile_id, model, value, cell in rows:
        scores.setdefault(profile_id, {})[model] = {"value": value, "cell": cell}
    return scores
