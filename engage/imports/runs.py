"""Running an import to its end as an ``ImportRun`` (the task's work)."""

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone

from engage.events.importing import (
    BATCH_SIZE,
    ImportNotPossible,
    ImportReport,
    import_dir,
    open_workspace_file,
    run_import,
)

from .models import ImportRun

logger = logging.getLogger(__name__)

#: Seconds between two saves of a running import's counts (what the admin shows).
SAVE_PROGRESS_EVERY = 1.0
#: Where uploads are kept until their run ends, in the workspace's import directory.
UPLOADS = "uploads"


def perform_import(
    run_id: int,
    *,
    file: BinaryIO | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[ImportRun], None] | None = None,
) -> ImportRun:
    """Run a queued import to its end, saving its counts as it goes (at most
    once a second: a save is a commit) and once more at the end.

    Safe to call twice (a task delivered again): only a queued run is taken.
    ``file`` is a file the caller opened (``import_source --file``); else the
    run's kept upload, else the importer's own source.
    """
    taken = ImportRun.objects.filter(pk=run_id, status=ImportRun.QUEUED).update(
        status=ImportRun.RUNNING, started_at=timezone.now()
    )
    run = ImportRun.objects.select_related("workspace").get(pk=run_id)
    if not taken:
        return run

    last_saved = 0.0

    def saved(report: ImportReport) -> None:
        nonlocal last_saved
        _copy_counts(report, run)
        run.phase = "storing" if report.applied else "checking"
        if time.monotonic() - last_saved >= SAVE_PROGRESS_EVERY:
            run.save(update_fields=[*COUNTS, "phase"])
            last_saved = time.monotonic()
        if progress:
            progress(run)

    upload = None
    try:
        if file is None and run.stored_path:
            upload = file = open_workspace_file(workspace=run.workspace, path=run.stored_path)
        report = run_import(
            workspace=run.workspace,
            plugin_id=run.importer_id,
            file=file,
            mode=run.mode,
            batch_size=batch_size,
            progress=saved,
        )
    except ImportNotPossible as exc:
        return _fail(run, str(exc))
    except OSError as exc:
        return _fail(run, f"{run.importer_id}: could not read the source: {exc}")
    except Exception:
        logger.exception("import run %s stopped", run.pk)
        _fail(run, "stopped on an unexpected error; the server's log has its details")
        raise
    finally:
        if upload is not None:
            upload.close()
        _remove_upload(run)
    _copy_counts(report, run)
    if not report.applied:
        run.phase = "checking"
        bad = f"{report.invalid:,} bad row{'' if report.invalid == 1 else 's'}"
        stopped = f"; {report.stopped}" if report.stopped else ""
        return _fail(run, f"nothing stored: {bad}, and all or nothing was asked{stopped}")
    if report.stopped:
        # Not a success: the operator would take the file as imported whole.
        return _fail(run, f"{report.stopped}; the valid rows before them were stored")
    run.status = ImportRun.SUCCEEDED
    run.phase = ""
    run.finished_at = timezone.now()
    run.save()
    return run


COUNTS = ("read", "stored", "duplicates", "invalid", "errors", "bytes_read")


def _copy_counts(report: ImportReport, run: ImportRun) -> None:
    for name in COUNTS:
        setattr(run, name, getattr(report, name))


def _fail(run: ImportRun, reason: str) -> ImportRun:
    run.status = ImportRun.FAILED
    run.failure = reason
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save()
    return run


def _remove_upload(run: ImportRun) -> None:
    if run.stored_path:
        Path(import_dir(run.workspace) / run.stored_path).unlink(missing_ok=True)
