"""Roll up the heavy metrics now, or rebuild them from scratch (``--full``).

The daily task only recomputes its last few days; a change to closed days
(customers merged or split, events imported for last year) reaches the
rollups when they are rebuilt with ``--full``.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from engage.metrics.services import forget, roll_up
from engage.workspaces.management.workspace_option import (
    add_workspace_option,
    chosen_workspaces,
)


class Command(BaseCommand):
    help = "Roll up attribution and cohort retention up to yesterday, for every workspace or one."

    def add_arguments(self, parser):
        add_workspace_option(parser)
        parser.add_argument(
            "--full", action="store_true", help="Drop the stored rollups and compute all history."
        )

    def handle(self, *args, workspace=None, full=False, **options):
        workspaces = chosen_workspaces(workspace)
        today = timezone.now().date()
        for ws in workspaces:
            if full:
                forget(ws)
            roll_up(ws, today=today)
            self.stdout.write(f"rolled up workspace {ws.name} (id {ws.pk}) to {today}")
