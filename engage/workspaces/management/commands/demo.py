from django.core.management.base import BaseCommand

from engage.workspaces.models import ApiKey, Workspace
from engage.workspaces.services import create_api_key, create_workspace

DEMO_NAME = "demo"


class Command(BaseCommand):
    help = (
        "Create (or refresh the keys of) the demo workspace and print how to use it. "
        "Keys are shown once, so every run issues a fresh pair and revokes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port: int, **options):
        workspace = Workspace.objects.filter(name=DEMO_NAME).first()
        if workspace is None:
            created = create_workspace(name=DEMO_NAME)
            write_key, secret_key = created.write_key, created.secret_key
        else:
            _, write_key = create_api_key(workspace=workspace, kind=ApiKey.WRITE, name="demo run")
            _, secret_key = create_api_key(workspace=workspace, kind=ApiKey.SECRET, name="demo run")
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            f"""
engage demo workspace '{DEMO_NAME}'
  write key  (ingest only): {write_key}
  secret key (read/manage): {secret_key}

Send an event, then read the customer back:

  curl -s -u '{write_key}:' {base}/v1/identify -H 'Content-Type: application/json' \\
    -d '{{"userId": "ada", "anonymousId": "browser-1", "traits": {{"email": "Ada@Example.com"}}}}'
  curl -s -u '{write_key}:' {base}/v1/track -H 'Content-Type: application/json' \\
    -d '{{"anonymousId": "browser-1", "event": "Viewed Pricing"}}'
  curl -s -H 'Authorization: Bearer {secret_key}' \\
    '{base}/api/profiles/lookup?email=ada@example.com'

API docs: {base}/api/docs/    Admin: {base}/admin/ (python manage.py createsuperuser)
"""
        )
