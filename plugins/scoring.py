"""engage's built-in scoring models: RFM, channel responsiveness, engagement
score, dormancy and intent. Each computes a whole workspace in SQL; see
docs/scoring.md for what each one measures."""

from engage.plugins import hookimpl
from engage.scoring.ces import CES
from engage.scoring.dormancy import Dormancy
from engage.scoring.intent import Intent
from engage.scoring.responsiveness import Responsiveness
from engage.scoring.rfm import RFM


@hookimpl
def engage_scoring_models():
    return [RFM, Responsiveness, CES, Dormancy, Intent]
