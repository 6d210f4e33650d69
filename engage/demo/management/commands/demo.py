import json
import socket

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from engage.demo import access, cart, customer
from engage.inbox import tokens
from engage.messaging.models import MessageDecision
from engage.workspaces.models import ApiKey, Workspace
from engage.workspaces.services import create_workspace

DEMO_NAME = "demo"
HOST = "127.0.0.1"


class Command(BaseCommand):
    help = (
        "Create the demo workspace (once), seed a sample customer, "
        "ship a cart-abandonment journey and play the customer through it (the first "
        "run), and print how to use it: the same keys and admin login on every run "
        "(a pair revoked in the admin is replaced)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port: int, **options):
        _check_port(port)
        with transaction.atomic():
            workspace = Workspace.objects.filter(name=DEMO_NAME).first()
            new_keys = None
            if workspace is None:
                created = create_workspace(name=DEMO_NAME)
                workspace = created.workspace
                new_keys = {ApiKey.WRITE: created.write_key, ApiKey.SECRET: created.secret_key}
            keys = access.ensure_access(workspace, new_keys=new_keys)
        write_key, secret_key, admin_line = keys.write_key, keys.secret_key, keys.admin_login
        ada = customer.seed(workspace)
        base = f"http://{HOST}:{port}"
        self.stdout.write(
            f"""
engage demo workspace '{DEMO_NAME}' (the same keys on every run)
  write key  (ingest only): {write_key}
  secret key (read/manage): {secret_key}
  for the README's examples: export WRITE_KEY={write_key} SECRET_KEY={secret_key}
{customer.describe(ada.profile) if ada else ""}"""
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

Start:    {base}/  (links, and these keys again)
API docs: {base}/api/docs/
Admin:    {base}/admin/  {admin_line}
Start over from nothing: rm -rf var/ and run scripts/demo again.
"""
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


def _check_port(port: int) -> None:
    """Refuse a port already taken before anything is printed: keys and
    curls for a server that then fails to start only mislead."""
    with socket.socket() as probe:
        # As runserver does: a port left in TIME_WAIT by a stopped server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise CommandError(
                f"port {port} on {HOST} is already in use (another engage demo?): "
                f"stop it, or choose another port, e.g. PORT={port + 1} scripts/demo"
            ) from None


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
