"""Run a source importer for one workspace, e.g. customers from a CSV file.

``--file`` reads any file the command can: whoever runs a management command
already has the server. A ``path`` setting, chosen by the workspace's staff,
stays confined to the workspace's import directory here too. The run is
recorded as an ``ImportRun`` like one started in the admin; on a terminal a
progress bar follows it, elsewhere (a log, a pipe) a plain line per batch.
"""

from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engage.events.importing import (
    APPLY_VALID,
    BATCH_SIZE,
    MAX_REPORTED_ERRORS,
    MODES,
    ImportNotPossible,
    describe_problem,
)
from engage.imports.models import ImportRun
from engage.imports.runs import perform_import
from engage.imports.services import create_run
from engage.workspaces.selectors import WorkspaceNotFound, workspace_named

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Import customers and events from a source with an importer plugin enabled there."

    def add_arguments(self, parser):
        parser.add_argument("plugin_id", help="Importer plugin id, e.g. csv_customers.")
        parser.add_argument(
            "--workspace", required=True, help="Workspace id, name (any case) or slug."
        )
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help="Calls stored at once."
        )
        parser.add_argument(
            "--file",
            help="A file on this server for an importer that reads files "
            "(instead of its path setting).",
        )
        parser.add_argument(
            "--mode",
            choices=MODES,
            default=APPLY_VALID,
            help="apply_valid stores every valid row and reports the bad ones; "
            "all_or_nothing checks the whole file first and stores nothing if a row is bad.",
        )

    def handle(self, *args, plugin_id, workspace, batch_size, file, mode, **options):
        if batch_size < 1:
            raise CommandError("--batch-size: must be at least 1")
        try:
            ws = workspace_named(workspace)
        except WorkspaceNotFound as exc:
            raise CommandError(f"--workspace: {exc}") from None
        self.bar = self.stdout.isatty()
        with ExitStack() as stack:
            try:
                source = stack.enter_context(open(file, "rb")) if file else None
            except OSError as exc:
                raise CommandError(f"--file: cannot be read: {exc}") from None
            try:
                run = create_run(
                    workspace=ws,
                    importer_id=plugin_id,
                    mode=mode,
                    file=source,
                    file_name=Path(file).name if file else "",
                )
            except ImportNotPossible as exc:
                raise CommandError(str(exc)) from None
            run = perform_import(
                run.pk, file=source, batch_size=batch_size, progress=self._progress
            )
        if self.bar:
            self.stdout.write("")  # end the bar's line
        if run.status == ImportRun.FAILED and not run.errors:
            raise CommandError(run.failure)
        self.stdout.write(run.summary())
        for error in run.errors:
            self.stdout.write(f"  {describe_problem(error)}")
        if len(run.errors) >= MAX_REPORTED_ERRORS:
            self.stdout.write(f"  (only the first {MAX_REPORTED_ERRORS} problems are listed)")
        if run.status == ImportRun.FAILED:
            raise CommandError(run.failure)
        style = self.style.WARNING if run.invalid else self.style.SUCCESS
        self.stdout.write(style(f"imported into workspace {ws.name} (id {ws.pk}), run {run.pk}"))

    def _progress(self, run: ImportRun) -> None:
        counts = f"{run.read:,} read, {run.stored:,} stored"
        if run.phase == "checking":
            counts = f"checking: {run.read:,} read, {run.invalid:,} invalid"
        if not self.bar:
            self.stdout.write(f"  {counts}")
        elif run.percent is None:
            self.stdout.write(f"\r  {counts}", ending="")
        else:
            done = BAR_WIDTH * run.percent // 100
            bar = "#" * done + "." * (BAR_WIDTH - done)
            self.stdout.write(f"\r  [{bar}] {run.percent:3d}%  {counts}", ending="")
        self.stdout.flush()
