"""Signals for apps that react to new events.

``events_recorded`` announces every event once it belongs to a profile,
whichever entrance it came through: after processing's commit for ingested
events, after the write's own commit for ``record_events``. ``events`` is a
list of ``RecordedEvent`` (id, workspace, profile, name, timestamp, message
id, channel), at most ``ANNOUNCE_CHUNK`` per send, so a refresh entering a
million customers is announced in pieces a receiver can hold.

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

from datetime import datetime
from typing import NamedTuple

from django.db import transaction
from django.dispatch import Signal

events_processed = Signal()
events_recorded = Signal()

ANNOUNCE_CHUNK = 1000


class RecordedEvent(NamedTuple):
    id: int
    workspace_id: int
    profile_id: int
    name: str
    timestamp: datetime
    message_id: str
    channel: str


def announce(events: list[RecordedEvent]) -> None:
    """Send ``events_recorded`` for ``events`` once the current transaction
    commits (at once outside one); nothing is sent if it rolls back."""
    if events:
        transaction.on_commit(lambda: _send(events))


def _send(events: list[RecordedEvent]) -> None:
    for start in range(0, len(events), ANNOUNCE_CHUNK):
        events_recorded.send(sender=RecordedEvent, events=events[start : start + ANNOUNCE_CHUNK])


def processed_events(events) -> list[RecordedEvent]:
    """The events of a processed batch that were kept, as announced."""
    return [
        RecordedEvent(
            id=e.pk,
            workspace_id=e.workspace_id,
            profile_id=e.profile_id,
            name=e.name,
            timestamp=e.timestamp,
            message_id=e.message_id,
            channel=e.channel,
        )
        for e in events
        if e.profile_id is not None and e.processed_at is not None
    ]


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
