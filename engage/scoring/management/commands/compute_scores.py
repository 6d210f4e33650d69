"""Compute scores now, instead of waiting for the weekly run."""

from django.core.management.base import BaseCommand, CommandError

from engage.plugins.manager import UnknownPlugin
from engage.scoring.services import ModelRun, compute_workspace, selected_models
from engage.workspaces.management.workspace_option import (
    add_workspace_option,
    chosen_workspaces,
)


class Command(BaseCommand):
    help = "Compute scoring models for every workspace, or one (--workspace id, name or slug)."

    def add_arguments(self, parser):
        add_workspace_option(parser)
        parser.add_argument(
            "--model",
            action="extend",
            nargs="+",
            dest="models",
            help="Scoring model ids (--model rfm ces, or --model repeated); default: every "
            "installed model the workspace has not disabled.",
        )

    def handle(self, *args, workspace=None, models=None, **options):
        try:
            selected_models(models)
        except UnknownPlugin as exc:
            raise CommandError(f"--model: {exc}") from None
        workspaces = chosen_workspaces(workspace)
        total = workspaces.count()
        for position, ws in enumerate(workspaces, start=1):
            self.stdout.write(f"[{position}/{total}] workspace {ws.name} (id {ws.pk})")
            compute_workspace(ws, model_ids=models, progress=self._report)
        self.stdout.write(self.style.SUCCESS(f"scored {total} workspace(s)"))

    def _report(self, run: ModelRun) -> None:
        self.stdout.write(f"  {run.model}: {run.rows} profiles in {run.seconds:.2f}s")
        self.stdout.flush()
