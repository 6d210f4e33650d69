"""Signals sent by event processing, for apps that react to new events.

``events_processed`` is sent once per workspace for each processed batch,
inside the batch's transaction, with:

- ``workspace``: the Workspace;
- ``profile_ids``: set of the ids of the profiles the batch's events were
  attributed to;
- ``event_names``: set of the track event, page and screen names in the batch;
- ``trait_keys``: set of the top-level trait keys the batch set.

Receivers that do real work should defer it with ``transaction.on_commit``
(and usually a task) so that processing stays fast and nothing acts on a batch
that rolls back.
"""

from django.dispatch import Signal

events_processed = Signal()


def send_events_processed(events, workspaces: dict) -> None:
    """Group a processed batch by workspace and send ``events_processed``."""
    batches: dict[int, tuple[set, set, set]] = {}
    for event in events:
        if event.profile_id is None or event.processed_at is None:
            continue
        ids, names, keys = batches.setdefault(event.workspace_id, (set(), set(), set()))
        ids.add(event.profile_id)
        if event.name:
            names.add(event.name)
        context = event.context if isinstance(event.context, dict) else {}
        for traits in (event.traits, context.get("traits")):
            if isinstance(traits, dict):
                keys.update(traits)
    for workspace_id, (ids, names, keys) in batches.items():
        events_processed.send(
            sender=events[0].__class__,
            workspace=workspaces[workspace_id],
            profile_ids=ids,
            event_names=names,
            trait_keys=keys,
        )
