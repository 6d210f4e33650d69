"""Running the ``engage_enrich_event`` hook on an event being processed.

Enrichment runs after the suppression check and before identity resolution,
so what a plugin adds (a geo lookup, a product category, a lead source) is on
the event when segments and journeys read it. A failing plugin must not hold
up the queue: its error becomes a warning on the event and processing goes on.
"""

import json
import logging

from .manager import get_plugin_manager

logger = logging.getLogger(__name__)


def enrich_event(*, event, workspace) -> bool:
    """Merge what the enrichment plugins return into ``event.properties``.

    Returns True when the properties changed (the caller then writes them).
    Results are merged in the order pluggy calls the plugins, so the one
    called last wins on a key.
    """
    hook = get_plugin_manager().hook.engage_enrich_event
    if not hook.get_hookimpls():
        return False
    try:
        results = hook(event=event, workspace=workspace)
        added = {}
        for result in results:
            if not isinstance(result, dict):
                raise TypeError(f"returned {type(result).__name__}, not a dict")
            added.update(result)
        json.dumps(added)  # stored as JSON: refuse what cannot be
    except Exception as exc:
        logger.exception("enriching event %s failed", event.pk)
        event.warnings = [*(event.warnings or []), f"enrichment failed: {exc}"]
        return False
    if not added:
        return False
    properties = event.properties if isinstance(event.properties, dict) else {}
    event.properties = {**properties, **added}
    return True
