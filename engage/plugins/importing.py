"""Running a source importer: its calls go the way ``/v1/batch`` items go.

Each call is checked by the same ``validate_message`` as ``/v1`` (same limits,
errors and clock rules), stored with ``store_events`` and processed by the
same pipeline, so an imported customer is indistinguishable from one sent by
an SDK. Storage deduplicates on messageId; a call without one gets an id
derived from its content, so running an import again stores nothing twice.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction

from engage.events import tasks
from engage.events.ingestion.storage import store_events
from engage.events.ingestion.validation import Batch, validate_message
from engage.workspaces.models import Workspace

from .base import Importer, ImportProblem, SettingsError
from .manager import UnknownPlugin, get_plugin_class
from .selectors import enabled_config

#: How many problems a report keeps; the counts cover all of them.
MAX_REPORTED_ERRORS = 50


class ImportNotPossible(Exception):
    """The import cannot start: unknown plugin, not an importer, not enabled
    for the workspace, or settings that no longer validate."""


@dataclass
class ImportReport:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[dict] = field(default_factory=list)

    def add_error(self, error: dict) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def summary(self) -> str:
        return (
            f"read {self.read}, stored {self.stored}, "
            f"duplicates {self.duplicates}, invalid {self.invalid}"
        )


def describe_problem(error: dict) -> str:
    """One reported problem as an operator reads it: where, field, reason."""
    where = error.get("where") or f"item {error['index']}"
    return f"{where}: {error['field']}: {error['reason']}"


def load_importer(*, workspace: Workspace, plugin_id: str) -> Importer:
    """The importer as configured for the workspace, or ImportNotPossible saying why."""
    try:
        cls = get_plugin_class(plugin_id)
    except UnknownPlugin as exc:
        raise ImportNotPossible(str(exc)) from None
    if not issubclass(cls, Importer):
        raise ImportNotPossible(f"plugin {plugin_id!r} is not an importer")
    config = enabled_config(workspace=workspace, plugin_id=plugin_id)
    if config is None:
        raise ImportNotPossible(
            f"importer {plugin_id!r} is not enabled for workspace {workspace.name!r}"
        )
    try:
        settings = cls.validate_settings(config.settings)
    except SettingsError as exc:
        raise ImportNotPossible(f"importer {plugin_id!r} has invalid settings: {exc}") from None
    return cls(settings, workspace=workspace)


def stable_message_id(plugin_id: str, item: dict) -> str:
    """An id that is the same whenever the same call is imported again."""
    text = json.dumps([plugin_id, item], sort_keys=True, separators=(",", ":"), default=str)
    return "import-" + hashlib.sha256(text.encode()).hexdigest()[:48]


def run_import(
    *,
    workspace: Workspace,
    plugin_id: str,
    batch_size: int = 500,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Read everything the importer yields and ingest it in batches.

    Invalid calls are reported (index in the importer's output, field and
    reason) and skipped; the rest are stored. ``progress`` is called after
    each stored batch.
    """
    importer = load_importer(workspace=workspace, plugin_id=plugin_id)
    report = ImportReport()
    pending: list = []
    for index, item in enumerate(importer.read(workspace=workspace)):
        report.read += 1
        if isinstance(item, ImportProblem):
            report.invalid += 1
            report.add_error(
                {"index": index, "where": item.where, "field": item.field, "reason": item.reason}
            )
            continue
        pending.append((index, item))
        if len(pending) >= batch_size:
            _ingest(workspace, plugin_id, pending, report)
            pending = []
            if progress:
                progress(report)
    if pending:
        _ingest(workspace, plugin_id, pending, report)
        if progress:
            progress(report)
    return report


def _ingest(workspace, plugin_id: str, items: list, report: ImportReport) -> None:
    batch = Batch(received_at=datetime.now(UTC))
    rows = []
    for index, item in items:
        if type(item) is dict and item.get("messageId") in (None, ""):
            item = {**item, "messageId": stable_message_id(plugin_id, item)}
        errors: list[dict] = []
        row = validate_message(item, None, batch, errors, None, check_text=True)
        if row is None:
            report.invalid += 1
            for error in errors:
                report.add_error({"index": index, **error})
            continue
        rows.append(row)
    if not rows:
        return
    with transaction.atomic():
        stored = store_events(workspace_id=workspace.pk, rows=rows)
        transaction.on_commit(tasks.request_processing)
    report.stored += stored
    report.duplicates += len(rows) - stored
