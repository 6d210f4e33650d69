"""Journeys written straight to the database, so tests of one part (the
engine, entry, the API) do not depend on the others' services."""

from django.utils import timezone

from engage.journeys.models import Journey, JourneyVersion


def live_journey(workspace, definition: dict, *, name: str = "journey") -> Journey:
    """A live journey whose only version, published now, holds ``definition``
    (taken as given: validation is the services' job)."""
    journey = Journey.objects.create(workspace=workspace, name=name, status=Journey.LIVE)
    version = JourneyVersion.objects.create(
        journey=journey, number=1, definition=definition, published_at=timezone.now()
    )
    journey.live_version = version
    journey.save(update_fields=["live_version"])
    return journey


# Park at a one-hour wait, then leave: the engine's cheapest full walk.
WAIT_THEN_EXIT = {
    "trigger": {"manual": True},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"hours": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}

# Entered on every order, as the pipeline benchmark's journeys are.
ORDERS = {
    "trigger": {"event": "Order Completed"},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}
