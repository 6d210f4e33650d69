"""The journey engine's entrances: ``advance`` runs the steps that are due
(``steps`` holds how), ``kick`` has a worker run them soon after a commit
made some due (an entry, a wake), so nobody waits for beat's next sweep."""

from engage.server.publishing import publish_after_commit

from .steps import StepBatch, advance, advance_due
from .tasks import advance_journeys

__all__ = ["StepBatch", "advance", "advance_due", "kick"]


def kick() -> None:
    """Have a worker advance journeys once the current transaction commits."""
    publish_after_commit(advance_journeys)
