"""Compute scores now, instead of waiting for the weekly run."""

from django.core.management.base import BaseCommand, CommandError

from engage.plugins.manager import UnknownPlugin
from engage.scoring.services import ModelRun, compute_workspace, selected_models
from engage.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Compute scoring models for every workspace, or one (--workspace id or name)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Workspace id or name; default: all.")
        parser.add_argument(
            "--model",
            action="append",
            dest="models",
            help="Scoring model id (repeatable); default: every installed model the workspace "
            "has not disabled.",
        )

    def handle(self, *args, workspace=None, models=None, **options):
        try:
            selected_models(models)
        except UnknownPlugin as exc:
            raise CommandError(f"--model: {exc}") from None
        workspaces = Workspace.objects.order_by("pk")
        if workspace:
            match = {"pk": int(workspace)} if workspace.isdigit() else {"name": workspace}
            workspaces = workspaces.filter(**match)
            if not workspaces.exists():
                raise CommandError(f"--workspace: no workspace with id or name {workspace!r}")
        total = workspaces.count()
        for position, ws in enumerate(workspaces, start=1):
            self.stdout.write(f"[{position}/{total}] workspace {ws.name} (id {ws.pk})")
            compute_workspace(ws, model_ids=models, progress=self._report)
        self.stdout.write(self.style.SUCCESS(f"scored {total} workspace(s)"))

    def _report(self, run: ModelRun) -> None:
        self.stdout.write(f"  {run.model}: {run.rows} profiles in {run.seconds:.2f}s")
        self.stdout.flush()
