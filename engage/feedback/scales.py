"""The three survey kinds: their scales, the category of a score, the event
each answer writes.

``effort`` is the Customer Effort Score of a survey ("how easy was it?",
1 to 7, higher is easier). It is not the scoring app's ``ces``, the
Customer *Engagement* Score computed from behaviour.
"""

NPS = "nps"
CSAT = "csat"
EFFORT = "effort"
KINDS = [(NPS, "NPS (0-10)"), (CSAT, "CSAT (1-5)"), (EFFORT, "Customer Effort (1-7)")]

#: kind -> (lowest score, highest score)
SCALES = {NPS: (0, 10), CSAT: (1, 5), EFFORT: (1, 7)}

EVENT_NAMES = {NPS: "NPS Submitted", CSAT: "CSAT Submitted", EFFORT: "Effort Submitted"}
COMMENT_EVENT = "Feedback Commented"

PROMOTER, PASSIVE, DETRACTOR = "promoter", "passive", "detractor"
SATISFIED, NEUTRAL, DISSATISFIED = "satisfied", "neutral", "dissatisfied"
EASY, HARD = "easy", "hard"
CATEGORIES = [PROMOTER, PASSIVE, DETRACTOR, SATISFIED, NEUTRAL, DISSATISFIED, EASY, HARD]


def category(kind: str, score: int) -> str:
    """The standard reading of a score: NPS 9-10 promoter, 7-8 passive, 0-6
    detractor; CSAT 4-5 satisfied, 3 neutral, 1-2 dissatisfied; effort 5-7
    easy, 4 neutral, 1-3 hard. (What engage *acts* on is the workspace's
    thresholds, ``FeedbackSettings``.)"""
    if kind == NPS:
        return PROMOTER if score >= 9 else PASSIVE if score >= 7 else DETRACTOR
    if kind == CSAT:
        return SATISFIED if score >= 4 else NEUTRAL if score == 3 else DISSATISFIED
    return EASY if score >= 5 else NEUTRAL if score == 4 else HARD
