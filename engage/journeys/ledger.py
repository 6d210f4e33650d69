"""The journey ledger rows of one write, kept as columns.

Entry, the engine's steps and goals each record, per enrollment, a
``MessageDecision`` with the same provenance (the journey, its version, the
node, the enrollment), and write a batch's rows in one ``insert_rows``:
model instances through ``bulk_create`` cost more than the rest of a batch.
"""

from collections import defaultdict
from datetime import datetime

from engage.messaging.models import Message, MessageDecision

from .inserts import insert_rows


class JourneyLedger:
    def __init__(self):
        self.columns: dict[str, list] = defaultdict(list)

    def add(
        self,
        enrollment,
        *,
        version_number: int,
        node_id: str,
        action: str,
        reason: str,
        detail: str = "",
        channel: str = "",
        message_id: int | None = None,
        until: datetime | None = None,
    ) -> None:
        """A row about ``enrollment`` (its workspace, customer, journey and id)."""
        columns = self.columns
        columns["workspace_id"].append(enrollment.workspace_id)
        columns["profile_id"].append(enrollment.profile_id)
        columns["origin_profile_id"].append(enrollment.profile_id)
        columns["action"].append(action)
        columns["reason"].append(reason)
        columns["detail"].append(detail)
        columns["channel"].append(channel)
        columns["message_id"].append(message_id)
        columns["until"].append(until)
        columns["source"].append(Message.JOURNEY)
        columns["journey_id"].append(enrollment.journey_id)
        columns["journey_version"].append(version_number)
        columns["journey_node_id"].append(node_id)
        columns["enrollment_id"].append(enrollment.pk)

    def write(self) -> None:
        insert_rows(MessageDecision, self.columns)
