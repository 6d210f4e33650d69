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

#: Calls stored per transaction: one COPY and one commit per batch; at 2,000
#: a batch costs about a megabyte in memory (docs/imports.md has figures).
BATCH_SIZE = 2000
#: How many problems a report keeps; the counts cover all of them.
MAX_REPORTED_ERRORS = 50
APPLY_VALID, ALL_OR_NOTHING = "apply_valid", "all_or_nothing"
MODES = (APPLY_VALID, ALL_OR_NOTHING)
#: How files that are not CSV text begin, and what they are.
NOT_CSV = (
    (b"\x1f\x8b", "gzip-compressed (compressed files are not accepted: decompress it)"),
    (b"BZh", "bzip2-compressed (compressed files are not accepted: decompress it)"),
    (b"\xfd7zXZ\x00", "xz-compressed (compressed files are not accepted: decompress it)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed (compressed files are not accepted: decompress it)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (compressed files are not accepted)"),
    (b"PK\x03\x04", "a ZIP archive or an XLSX workbook (which is one)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an Excel XLS workbook"),
)


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


@dataclass(frozen=True)
class ReadingStopped(ImportProblem):
    """A problem after which the source cannot be read on (a CSV line the
    csv module refuses, bytes that are not UTF-8): yielded last, it is
    reported like any bad record, and the run then fails naming ``unread``
    (e.g. "the rows after line 7"), so an operator is never told an import
    succeeded while part of its file was never read."""

    unread: str = "the rest of the source"


class DirectImporter(Importer):
    """An importer of records that are not events, such as the catalog's
    products: ``read`` yields its own rows, already checked (with an
    ``ImportProblem`` for each bad one), and ``store`` writes a batch of them.

    Everything else is the runner's, as for an importer of calls: the file
    checks, the import run and its progress, batches committed one at a
    time, all or nothing. The rows do not go through ``/v1``: a product is
    not something a customer did, and as a track call it would be an event
    on nobody's timeline, processed by segments and journeys, that reaches
    the catalog only where catalog events are turned on
    (``ENGAGE_CATALOG_EVENTS``, off by default).
    """

    def store(self, rows: list) -> int:
        """Write ``rows`` (in the runner's transaction); how many were
        stored, the rest counted as duplicates (the same record twice)."""
        raise NotImplementedError


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
    #: a file's size and how far it has been read (None for other sources)
    size: int | None = None
    bytes_read: int = 0
    #: False while an all-or-nothing import checks its file, and in its
    #: report when a bad row meant nothing was stored
    applied: bool = True
    #: why the source stopped being read before its end ("" when read whole)
    stopped: str = ""

    def add_error(self, error: dict) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def summary(self) -> str:
        if not self.applied:
            return (
                f"read {self.read}, invalid {self.invalid}: nothing stored, "
                "as all or nothing was asked"
            )
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


def path_setting_problems(settings: dict) -> dict[str, str]:
    """A file importer's ``check_settings`` answer for its optional ``path``
    setting: ``{"path": reason}``, or ``{}`` when it is blank or well formed."""
    problem = settings.get("path") and path_problem(settings["path"])
    return {"path": problem} if problem else {}


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
    batch_size: int = BATCH_SIZE,
    progress: Callable[[ImportReport], None] | None = None,
    mode: str = APPLY_VALID,
) -> ImportReport:
    """Read everything the importer yields and ingest it in batches.

    ``file`` is what an importer that reads files reads (an upload, or a
    file the server's operator chose); without it, its ``path`` setting.
    Invalid calls are reported (index in the importer's output, field and
    reason). In ``apply_valid`` mode the rest are stored; in
    ``all_or_nothing`` the file is read twice, streaming both times, so that
    memory stays bounded whatever its size: once to check every row, storing
    nothing, and again to store them only if none was bad. ``progress`` is
    called after each batch.
    """
    importer = load_importer(workspace=workspace, plugin_id=plugin_id, file=file)
    try:
        check_mode(mode, reads_file=importer.reads_file)
        size = check_file(importer.file) if importer.reads_file else None
        if mode == ALL_OR_NOTHING:
            checked = _run(importer, workspace, plugin_id, batch_size, progress, size, store=False)
            if checked.invalid:
                return checked
            importer.file.seek(0)
            importer = type(importer)(importer.settings, workspace=workspace, file=importer.file)
        return _run(importer, workspace, plugin_id, batch_size, progress, size, store=True)
    finally:
        if importer.reads_file and file is None:
            importer.file.close()  # opened here; a given file is the caller's


def check_mode(mode: str, *, reads_file: bool) -> None:
    """ImportNotPossible unless ``mode`` is one the importer can run in."""
    if mode not in MODES:
        raise ImportNotPossible(f"mode: must be {' or '.join(MODES)}, not {mode!r}")
    if mode == ALL_OR_NOTHING and not reads_file:
        raise ImportNotPossible(
            "mode: all_or_nothing needs a file, which is checked whole before "
            "anything is stored; a paged source is stored page by page"
        )


def check_file(file: BinaryIO) -> int:
    """The file's size, or ImportNotPossible when it is too big or plainly not
    CSV text: compressed files are refused rather than decompressed, so no
    small archive can expand into more than the limit allows (a zip bomb),
    and an XLSX workbook (a ZIP archive), an XLS or an XML file is named for
    what it is instead of being read as garbled lines."""
    if not file.seekable():
        raise ImportNotPossible("file: must be a regular file (it is read from the start again)")
    size = file.seek(0, 2)
    file.seek(0)
    limit = settings.ENGAGE_IMPORT_MAX_BYTES
    if size > limit:
        raise ImportNotPossible(
            f"file: {size:,} bytes is more than the {limit:,} an import may have "
            "(ENGAGE_IMPORT_MAX_BYTES)"
        )
    head = file.read(64)
    file.seek(0)
    for magic, what in NOT_CSV:
        if head.startswith(magic):
            raise ImportNotPossible(f"file: {what}, not CSV; save it as CSV UTF-8 and import that")
    if head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        raise ImportNotPossible("file: XML or HTML, not CSV; save it as CSV UTF-8 and import that")
    return size


def _run(importer, workspace, plugin_id, batch_size, progress, size, *, store) -> ImportReport:
    report = ImportReport(size=size, applied=store)
    pending: list = []

    def flush():
        nonlocal pending
        if isinstance(importer, DirectImporter):
            if store and pending:
                _store_direct(importer, [row for _, row in pending], report)
        else:
            rows = _valid_rows(plugin_id, pending, report)
            if store and rows:
                _store(workspace, rows, report)
        pending = []
        if importer.reads_file:
            report.bytes_read = importer.file.tell()
        if progress:
            progress(report)

    for item in importer.read(workspace=workspace):
        if isinstance(item, Checkpoint):
            if pending:
                flush()
            if store:
                _cursors()[1](workspace.pk, plugin_id, item.cursor)
            continue
        index = report.read
        report.read += 1
        if isinstance(item, ImportProblem):
            report.invalid += 1
            report.add_error(
                {"index": index, "where": item.where, "field": item.field, "reason": item.reason}
            )
            if isinstance(item, ReadingStopped):
                report.stopped = f"{item.unread} were not read ({item.where}: {item.reason})"
            continue
        pending.append((index, item))
        if len(pending) >= batch_size:
            flush()
    flush()
    return report


def _valid_rows(plugin_id: str, items: list, report: ImportReport) -> list:
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
    return rows


def _store(workspace, rows: list, report: ImportReport) -> None:
    with transaction.atomic():
        stored = store_events(workspace_id=workspace.pk, rows=rows)
        transaction.on_commit(tasks.request_processing)
    report.stored += stored
    report.duplicates += len(rows) - stored


def _store_direct(importer: DirectImporter, rows: list, report: ImportReport) -> None:
    with transaction.atomic():
        stored = importer.store(rows)
    report.stored += stored
    report.duplicates += len(rows) - stored
