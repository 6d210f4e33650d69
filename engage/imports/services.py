"""Starting and running imports as ``ImportRun`` rows.

An import is checked when it is asked for (the importer enabled, its
settings valid, the file not too big and CSV), so the operator hears at once
what cannot work; then it runs as a Celery task, inline where there is no
broker (the embedded default). An upload is first copied into the
workspace's import directory, under ``uploads/``: a worker may run on
another machine than the web server, and reads it from there (share the
directory between them). The copy is removed when the run ends.
"""

import shutil
import uuid
from typing import BinaryIO

from django.conf import settings

from engage.events.importing import (
    APPLY_VALID,
    check_file,
    check_mode,
    import_dir,
    load_importer,
)
from engage.plugins.models import PluginConfig
from engage.plugins.services import configure_plugin
from engage.server.publishing import publish_after_commit
from engage.workspaces.models import Workspace

from . import runs, tasks
from .models import ImportRun


def check_can_start(
    *, workspace: Workspace, importer_id: str, file: BinaryIO | None, mode: str
) -> None:
    """ImportNotPossible saying why this import cannot start, checked before
    anything is queued or copied."""
    importer = load_importer(workspace=workspace, plugin_id=importer_id, file=file)
    try:
        check_mode(mode, reads_file=importer.reads_file)
        if importer.reads_file:
            check_file(importer.file)
    finally:
        if importer.reads_file and file is None:
            importer.file.close()


def create_run(
    *,
    workspace: Workspace,
    importer_id: str,
    mode: str = APPLY_VALID,
    file: BinaryIO | None = None,
    file_name: str = "",
    user=None,
) -> ImportRun:
    """A queued run, once the import has been checked (ImportNotPossible if
    it cannot start). ``file`` is not kept: see ``start_import`` for uploads."""
    check_can_start(workspace=workspace, importer_id=importer_id, file=file, mode=mode)
    return ImportRun.objects.create(
        workspace=workspace,
        importer_id=importer_id,
        mode=mode,
        file_name=file_name[:255],
        file_size=file.seek(0, 2) if file is not None else None,
        started_by=user if user is not None and user.is_authenticated else None,
    )


def start_import(
    *,
    workspace: Workspace,
    importer_id: str,
    mode: str = APPLY_VALID,
    upload=None,
    user=None,
    turn_on: bool = False,
) -> ImportRun:
    """Queue an import, of ``upload`` (a Django ``UploadedFile``) when given,
    else of the importer's own source. Without a broker the run happens here
    and the returned run has finished.

    ``turn_on`` is for a page that is the importer's own door (the catalog's
    upload): where the workspace has no configuration of the importer, one
    is made, enabled with its default settings, so the page works at once; a
    configuration that disables it is kept, and the import refused."""
    if (
        turn_on
        and not PluginConfig.objects.filter(workspace=workspace, plugin_id=importer_id).exists()
    ):
        configure_plugin(workspace=workspace, plugin_id=importer_id, settings={})
    file = upload.file if upload is not None else None
    name = upload.name if upload is not None else ""
    run = create_run(
        workspace=workspace,
        importer_id=importer_id,
        mode=mode,
        file=file,
        file_name=name,
        user=user,
    )
    if upload is not None:
        run.stored_path = _keep_upload(workspace, run, file)
        run.save(update_fields=["stored_path"])
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # As a task would run without a broker: in the caller, now, so the
        # operator's next page shows the result.
        runs.perform_import(run.pk)
        run.refresh_from_db()
    else:
        publish_after_commit(tasks.run_import, run.pk)
    return run


def _keep_upload(workspace: Workspace, run: ImportRun, file: BinaryIO) -> str:
    relative = f"{runs.UPLOADS}/{run.pk}-{uuid.uuid4().hex}.csv"
    target = import_dir(workspace) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    file.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(file, out, 1024 * 1024)
    return relative
