import json

from django.core.management.base import BaseCommand, CommandError

from engage.workspaces.models import Workspace
from engage.workspaces.services import create_workspace


class Command(BaseCommand):
    help = "Create a workspace and print its write and secret keys as JSON (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name: str, **options):
        name = name.strip()
        if not name:
            raise CommandError("name: must not be empty")
        if Workspace.objects.filter(name=name).exists():
            raise CommandError(f"name: a workspace named {name!r} already exists")
        created = create_workspace(name=name)
        self.stdout.write(
            json.dumps(
                {
                    "workspace": created.workspace.name,
                    "workspace_id": created.workspace.pk,
                    "write_key": created.write_key,
                    "secret_key": created.secret_key,
                }
            )
        )
