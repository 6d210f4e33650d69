import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from engage.demo import customer
from engage.events.models import Event
from engage.workspaces.models import ApiKey, Workspace
from engage.workspaces.services import create_api_key, create_workspace

DEMO_NAME = "demo"
DEMO_ADMIN = "admin"


class Command(BaseCommand):
    help = (
        "Create (or refresh the keys of) the demo workspace, seed a sample customer "
        "journey and print how to use it. Keys are shown once, so every run issues a "
        "fresh pair and revokes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port: int, **options):
        workspace = Workspace.objects.filter(name=DEMO_NAME).first()
        if workspace is None:
            created = create_workspace(name=DEMO_NAME)
            workspace, write_key = created.workspace, created.write_key
            secret_key = created.secret_key
        else:
            _, write_key = create_api_key(workspace=workspace, kind=ApiKey.WRITE, name="demo run")
            _, secret_key = create_api_key(workspace=workspace, kind=ApiKey.SECRET, name="demo run")
        ada = customer.seed(workspace)
        admin_line = self._admin(workspace)
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            f"""
engage demo workspace '{DEMO_NAME}'
  write key  (ingest only): {write_key}
  secret key (read/manage): {secret_key}
{self._journey_summary(ada.profile) if ada else ""}
Send an event, then read the customer back:

  curl -s -u '{write_key}:' {base}/v1/identify -H 'Content-Type: application/json' \\
    -d '{{"userId": "grace", "anonymousId": "tab-9", "traits": {{"email": "Grace@Example.com"}}}}'
  curl -s -u '{write_key}:' {base}/v1/track -H 'Content-Type: application/json' \\
    -d '{{"anonymousId": "tab-9", "event": "Viewed Pricing"}}'
  curl -s -H 'Authorization: Bearer {secret_key}' \\
    '{base}/api/profiles/lookup?email=grace@example.com'
  curl -s -H 'Authorization: Bearer {secret_key}' \\
    '{base}/api/profiles/{ada.profile_id if ada else 1}/events'

API docs: {base}/api/docs/
Admin:    {base}/admin/  {admin_line}
"""
        )

    def _journey_summary(self, profile) -> str:
        events = Event.objects.filter(profile=profile).order_by("timestamp", "id")
        lines = [
            f"  {e.timestamp:%a %H:%M}  {e.channel or '-':9} {e.type:8} {e.name}" for e in events
        ]
        identities = ", ".join(f"{i.kind}={i.value}" for i in profile.identities.order_by("kind"))
        merges = profile.merges_in.count()
        return (
            f"\nSample customer: profile {profile.pk}, one customer from "
            f"{len(lines)} events on {len({e.channel for e in events})} channels "
            f"({merges} merge(s) along the way)\n  identities: {identities}\n"
            + "\n".join(lines)
            + "\n"
        )

    def _admin(self, workspace: Workspace) -> str:
        users = get_user_model()
        user = users.objects.filter(username=DEMO_ADMIN).first()
        if user is not None:
            return f"(user '{DEMO_ADMIN}', password as printed when it was created)"
        password = secrets.token_urlsafe(12)
        user = users.objects.create_superuser(DEMO_ADMIN, "", password)
        workspace.members.add(user)
        return f"(user '{DEMO_ADMIN}', password '{password}')"
