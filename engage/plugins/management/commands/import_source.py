"""Run a source importer for one workspace, e.g. customers from a CSV file.

``--file`` reads any file the command can: whoever runs a management command
already has the server. A ``path`` setting, chosen by the workspace's staff,
stays confined to the workspace's import directory here too.
"""

from contextlib import ExitStack

from django.core.management.base import BaseCommand, CommandError

from engage.events.importing import (
    MAX_REPORTED_ERRORS,
    ImportNotPossible,
    ImportReport,
    describe_problem,
    run_import,
)
from engage.workspaces.selectors import WorkspaceNotFound, workspace_named


class Command(BaseCommand):
    help = "Import customers and events from a source with an importer plugin enabled there."

    def add_arguments(self, parser):
        parser.add_argument("plugin_id", help="Importer plugin id, e.g. csv_customers.")
        parser.add_argument(
            "--workspace", required=True, help="Workspace id, name (any case) or slug."
        )
        parser.add_argument("--batch-size", type=int, default=500, help="Calls stored at once.")
        parser.add_argument(
            "--file",
            help="A file on this server for an importer that reads files "
            "(instead of its path setting).",
        )

    def handle(self, *args, plugin_id, workspace, batch_size, file, **options):
        if batch_size < 1:
            raise CommandError("--batch-size: must be at least 1")
        try:
            ws = workspace_named(workspace)
        except WorkspaceNotFound as exc:
            raise CommandError(f"--workspace: {exc}") from None
        with ExitStack() as stack:
            try:
                source = stack.enter_context(open(file, "rb")) if file else None
            except OSError as exc:
                raise CommandError(f"--file: cannot be read: {exc}") from None
            try:
                report = run_import(
                    workspace=ws,
                    plugin_id=plugin_id,
                    file=source,
                    batch_size=batch_size,
                    progress=self._progress,
                )
            except ImportNotPossible as exc:
                raise CommandError(str(exc)) from None
            except OSError as exc:
                raise CommandError(f"{plugin_id}: could not read the source: {exc}") from None
        self.stdout.write(report.summary())
        for error in report.errors:
            self.stdout.write(f"  {describe_problem(error)}")
        if len(report.errors) >= MAX_REPORTED_ERRORS:
            self.stdout.write(f"  (only the first {MAX_REPORTED_ERRORS} problems are listed)")
        style = self.style.WARNING if report.invalid else self.style.SUCCESS
        self.stdout.write(style(f"imported into workspace {ws.name} (id {ws.pk})"))

    def _progress(self, report: ImportReport) -> None:
        self.stdout.write(f"  {report.read} read, {report.stored} stored")
        self.stdout.flush()
