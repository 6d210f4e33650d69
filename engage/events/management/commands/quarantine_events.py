from collections import defaultdict

from django.core.management.base import BaseCommand, CommandError

from engage.events.quarantine import find_unshowable, set_aside
from engage.workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Find stored events that cannot be loaded or shown (a time out of Python's range, "
        "JSON nested too deep) and quarantine them, so that they block neither processing "
        "nor a customer's timeline or export. Prints what it found per workspace."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Only list the events; change nothing."
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Events read per query (1000)."
        )

    def handle(self, *args, dry_run: bool, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size: must be at least 1")
        found = defaultdict(list)
        for event in find_unshowable(batch_size=batch_size):
            if not dry_run:
                set_aside(event.pk, event.quarantine_reason)
            found[event.workspace_id].append(event)
        if not found:
            self.stdout.write("No unreadable events found.")
            return
        names = Workspace.objects.in_bulk(list(found))
        verb = "would quarantine" if dry_run else "quarantined"
        for workspace_id, events in sorted(found.items()):
            workspace = names.get(workspace_id)
            label = workspace.name if workspace else f"workspace {workspace_id}"
            self.stdout.write(f"{label}: {verb} {len(events)} event(s)")
            for event in events:
                self.stdout.write(
                    f"  event {event.pk} (message {event.message_id}, {event.type} "
                    f"{event.name or '-'}): {event.quarantine_reason}"
                )
