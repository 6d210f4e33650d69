"""Running a source importer: its calls go the way ``/v1/batch`` items go.

Each call is checked by the same ``validate_message`` as ``/v1`` (same limits,
errors and clock rules), stored with ``store_events`` and processed by the
same pipeline, so an imported customer is indistinguishable from one sent by
an SDK. Storage deduplicates on messageId; a call without one gets an id
derived from its content, so running an import again stores nothing twice.

Files are opened here, never by the importer (see ``Importer.reads_file``).
A ``path`` setting is chosen by a workspace's staff, so it is only ever read
inside that workspace's import directory, ``ENGAGE_IMPORT_DIR/<workspace
id>/``, and errors about it name the problem, never what the file holds.

A paged source yields a ``Checkpoint`` after each page: what came before it
is stored, then its cursor saved, and the importer is built with the saved
cursor the next time. The cursors are the imports app's rows, which depends
on this app, so it hands its store over when it starts
(``register_cursor_store``, from its ``ready()``) rather than this module
importing it.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from engage.plugins.base import Checkpoint, Importer, ImportProblem, SettingsError
from engage.plugins.manager import UnknownPlugin, get_plugin_class
from engage.plugins.selectors import enabled_config
from engage.workspaces.models import Workspace

from . import tasks
from .ingestion.storage import store_events
from .ingestion.validation import Batch, validate_message

#: How many problems a report keeps; the counts cover all of them.
MAX_REPORTED_ERRORS = 50
#: The largest file an operator may upload in the admin; it is read in the
#: request. Larger sources go in the import directory (``import_source``).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


LoadCursor = Callable[[int, str], dict | None]
SaveCursor = Callable[[int, str, dict], None]
_cursor_store: tuple[LoadCursor, SaveCursor] | None = None


def register_cursor_store(*, load: LoadCursor, save: SaveCursor) -> None:
    """Where importers' cursors are kept: ``load(workspace_id, importer_id)``
    returns the saved cursor or None, ``save(workspace_id, importer_id,
    cursor)`` commits it."""
    global _cursor_store
    _cursor_store = (load, save)


def _cursors() -> tuple[LoadCursor, SaveCursor]:
    if _cursor_store is None:
        raise ImproperlyConfigured(
            "no importer cursor store registered: engage.imports must be in INSTALLED_APPS"
        )
    return _cursor_store


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


def import_dir(workspace: Workspace) -> Path:
    """The directory a workspace's ``path`` settings are read in."""
    return Path(settings.ENGAGE_IMPORT_DIR) / str(workspace.pk)


def path_problem(value: str) -> str | None:
    """Why ``value`` cannot be a ``path`` setting, or None. Only the form is
    checked here; where it leads is checked when opening (symlinks)."""
    if "\0" in value:
        return "must not contain a NUL character"
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute():
        return "must be relative to the workspace's import directory, not absolute"
    if ".." in path.parts:
        return "must stay inside the workspace's import directory (no '..')"
    return None


def open_workspace_file(*, workspace: Workspace, path: str) -> BinaryIO:
    """``path`` opened inside the workspace's import directory, or
    ImportNotPossible saying why not (a link out of it included)."""
    problem = path_problem(path)
    if problem:
        raise ImportNotPossible(f"path: {problem}")
    base = import_dir(workspace).resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base):
        raise ImportNotPossible("path: leads out of the workspace's import directory")
    if not target.is_file():
        raise ImportNotPossible(f"path: no file {path!r} in the workspace's import directory")
    try:
        return target.open("rb")
    except OSError:
        raise ImportNotPossible(f"path: {path!r} cannot be read by the server") from None


def load_importer(
    *, workspace: Workspace, plugin_id: str, file: BinaryIO | None = None
) -> Importer:
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
        cleaned = cls.validate_settings(config.settings)
    except SettingsError as exc:
        raise ImportNotPossible(f"importer {plugin_id!r} has invalid settings: {exc}") from None
    if not cls.reads_file:
        if file is not None:
            raise ImportNotPossible(f"importer {plugin_id!r} does not read files")
        cursor = _cursors()[0](workspace.pk, plugin_id)
        return cls(cleaned, workspace=workspace, cursor=cursor)
    if file is None:
        if not cleaned.get("path"):
            raise ImportNotPossible(
                "path: not set; upload the file in the admin, or set a path in the "
                "workspace's import directory"
            )
        file = open_workspace_file(workspace=workspace, path=cleaned["path"])
    return cls(cleaned, workspace=workspace, file=file)


def stable_message_id(plugin_id: str, item: dict) -> str:
    """An id that is the same whenever the same call is imported again."""
    text = json.dumps([plugin_id, item], sort_keys=True, separators=(",", ":"), default=str)
    return "import-" + hashlib.sha256(text.encode()).hexdigest()[:48]


def run_import(
    *,
    workspace: Workspace,
    plugin_id: str,
    file: BinaryIO | None = None,
    batch_size: int = 500,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Read everything the importer yields and ingest it in batches.

    ``file`` is what an importer that reads files reads (an upload, or a
    file the server's operator chose); without it, its ``path`` setting.
    Invalid calls are reported (index in the importer's output, field and
    reason) and skipped; the rest are stored. ``progress`` is called after
    each stored batch.
    """
    importer = load_importer(workspace=workspace, plugin_id=plugin_id, file=file)
    try:
        return _run(importer, workspace, plugin_id, batch_size, progress)
    finally:
        if importer.reads_file and file is None:
            importer.file.close()  # opened here; a given file is the caller's


def _run(importer, workspace, plugin_id, batch_size, progress) -> ImportReport:
    report = ImportReport()
    pending: list = []
    for item in importer.read(workspace=workspace):
        if isinstance(item, Checkpoint):
            if pending:
                _ingest(workspace, plugin_id, pending, report)
                pending = []
                if progress:
                    progress(report)
            _cursors()[1](workspace.pk, plugin_id, item.cursor)
            continue
        index = report.read
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
