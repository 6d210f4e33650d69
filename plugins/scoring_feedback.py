"""Survey answers as scores: ``nps``, ``csat`` and ``effort``.

Each model holds every customer's latest answer of its kind (at or before
the run's time): the value is the score, the cell its category (``nps``:
promoter, passive, detractor; ``csat``: satisfied, neutral, dissatisfied;
``effort``: easy, neutral, hard), and the components say when it was given
and how many answers of that kind the customer gave. So a segment reads
``{"score": {"model": "nps", "cell": "detractor"}}`` or
``{"score": {"model": "csat", "op": "lte", "value": 2}}``, and a template
``{{ scores.nps.cell }}``.

``effort`` is the survey's Customer Effort Score; the ``ces`` model is the
Customer Engagement Score, computed from behaviour, and is another thing.
"""

from engage.feedback import scales
from engage.plugins import hookimpl
from engage.plugins.base import Run, ScoringModel


class _LatestAnswer(ScoringModel):
    kind: str

    def select(self, run: Run) -> tuple[str, list]:
        components = run.sql.json_object({"answers": "answers", "score": "score"})
        text = f"""
            SELECT profile_id, score AS value, category AS cell, {components} AS components
            FROM (
                SELECT f.profile_id, f.score, f.category,
                       ROW_NUMBER() OVER (
                           PARTITION BY f.profile_id ORDER BY f.answered_at DESC, f.id DESC
                       ) AS rn,
                       COUNT(*) OVER (PARTITION BY f.profile_id) AS answers
                FROM feedback_feedback f
                WHERE f.workspace_id = %s AND f.kind = %s AND f.answered_at <= %s
            ) latest
            WHERE rn = 1
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        return text, [run.workspace_id, self.kind, run.sql.ts(run.as_of)]


class LatestNPS(_LatestAnswer):
    id = "nps"
    name = "Latest NPS answer"
    kind = scales.NPS


class LatestCSAT(_LatestAnswer):
    id = "csat"
    name = "Latest CSAT answer"
    kind = scales.CSAT


class LatestEffort(_LatestAnswer):
    id = "effort"
    name = "Latest Customer Effort answer (not the engagement score ces)"
    kind = scales.EFFORT


@hookimpl
def engage_scoring_models():
    return [LatestNPS, LatestCSAT, LatestEffort]
