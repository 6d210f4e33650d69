import json
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from engage.demo import cart, customer
from engage.events.models import Event
from engage.inbox import tokens
from engage.messaging.models import MessageDecision
from engage.workspaces.models import ApiKey, Workspace
from engage.workspaces.services import create_api_key, create_workspace

DEMO_NAME = "demo"
DEMO_ADMIN = "admin"


class Command(BaseCommand):
    help = (
        "Create (or refresh the keys of) the demo workspace, seed a sample customer, "
        "ship a cart-abandonment journey and play the customer through it (the first "
        "run), and print how to use it. Keys are shown once, so every run issues a "
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
{self._journey_summary(ada.profile) if ada else ""}"""
        )
        if ada is not None:
            self._play_cart(workspace, ada.profile, base=base, write_key=write_key)
        self.stdout.write(
            f"""
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

    def _play_cart(self, workspace: Workspace, profile, *, base: str, write_key: str) -> None:
        """Ship the cart-abandonment journey and watch Ada walk it, printing
        her ledger as the engine writes it (the first run; later runs print
        the ledger that run left)."""
        journey = cart.install(workspace)
        self.stdout.write(
            f"\nJourney '{journey.name}' is {journey.status} (version "
            f"{journey.live_version.number}): {base}/admin/journeys/journey/{journey.pk}/change/\n"
            f"Ada puts a down jacket in her cart and leaves; her ledger, step by step "
            f"(the demo's waits are seconds):\n"
        )
        self.stdout.flush()
        cart.abandon_cart(workspace)
        cart.play(journey, profile, echo=lambda row: self.stdout.write(_ledger_line(row)))
        token = tokens.issue(workspace_id=workspace.pk, profile_id=profile.pk)
        event = cart.cart_event(message_id="")
        again = json.dumps({k: event[k] for k in ("userId", "event", "properties")})
        self.stdout.write(
            f"""
Her page, with the ledger: {base}/admin/profiles/profile/{profile.pk}/change/
The email, in the outbox:  {base}/admin/demo/outboxemail/
Her in-app inbox, as her app reads it:
  curl -s -H 'Authorization: Bearer {token}' {base}/inbox/messages
Play it again on the running server (she may enter again once she is out):
  curl -s -u '{write_key}:' {base}/v1/track -H 'Content-Type: application/json' \\
    -d '{again}'
"""
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


def _ledger_line(row: MessageDecision) -> str:
    """One ledger row as the demo prints it: when, what, why, where."""
    where = f"{row.journey_node_id}" if row.journey_node_id else "(messaging)"
    notes = [row.channel] if row.channel else []
    if row.message_id:
        notes.append(f"message {row.message_id}")
    if row.until:
        notes.append(f"until {row.until:%H:%M:%S}")
    if row.detail:
        # An entry or a wake by an event gives the event's id.
        notes.append(f"event {row.detail}" if row.reason == "event" else row.detail)
    when = f"{row.created_at:%H:%M:%S}"
    return f"  {when}  {row.action:6} {row.reason:10} {where:12} {', '.join(notes)}"
