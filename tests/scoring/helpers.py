"""Hand-built customer histories for scoring tests, relative to one computation time."""

import datetime as dt

from engage.scoring.models import Score
from engage.scoring.services import compute_workspace
from tests.customer_factories import EventFactory, ProfileFactory

# A Monday, noon UTC: "N days ago" is always the calendar day N days before.
AS_OF = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)


def customer(workspace):
    return ProfileFactory(workspace=workspace)


def did(profile, name: str, days_ago: float, **properties):
    return EventFactory(
        profile=profile,
        name=name,
        timestamp=AS_OF - dt.timedelta(days=days_ago),
        properties=properties,
    )


def compute(workspace, model: str, as_of=AS_OF):
    return compute_workspace(workspace, model_ids=[model], as_of=as_of)


def scores(workspace, model: str) -> dict[int, Score]:
    return {s.profile_id: s for s in Score.objects.filter(workspace=workspace, model=model)}
