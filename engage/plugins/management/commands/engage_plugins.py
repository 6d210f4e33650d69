from django.core.management.base import BaseCommand

from engage.plugins.manager import installed_plugins


class Command(BaseCommand):
    help = "List the installed plugins, the hooks each implements and what each provides."

    def handle(self, *args, **options):
        rows = installed_plugins()
        if not rows:
            self.stdout.write("No plugins installed.")
        for row in rows:
            dist = f"  [{row['distribution']}]" if row["distribution"] else ""
            self.stdout.write(f"{row['name']}{dist}")
            for hook in row["hooks"]:
                provided = row["provides"].get(hook)
                suffix = f": {', '.join(provided)}" if provided else ""
                self.stdout.write(f"    {hook}{suffix}")
