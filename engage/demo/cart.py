"""The demo's cart-abandonment journey, and a customer who walks it.

The journey is written in the real definition format and goes through the
journeys services (validated, then published), on the channels that need no
outside service: the in-app inbox, and email kept in the local outbox. Its
waits are seconds instead of hours, so a newcomer watches a whole run: Ada
puts a jacket in her cart and leaves; after a pause she gets an in-app
nudge; she does not respond, so an email follows. Each step lands in her
ledger, which her admin page shows.
"""

import time
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from engage.journeys import engine
from engage.journeys.models import Enrollment, Journey
from engage.journeys.services import create_journey, publish
from engage.messaging.models import MessageDecision, MessageTemplate
from engage.messaging.services import save_template
from engage.plugins.models import PluginConfig
from engage.plugins.services import configure_plugin
from engage.profiles.models import Profile
from engage.workspaces.models import Workspace

from . import customer

JOURNEY_NAME = "Cart abandonment (demo)"
CART_EVENT = "Cart Updated"
# Fixed, so running the demo again plays nothing twice; a cart sent to the
# running server (the printed curl) has an id of its own and plays again.
CART_MESSAGE_ID = "demo-cart-1"
# The most a run may take: the waits below add up to 10 seconds.
PLAY_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.25

CHANNELS = {
    "inapp": {},
    "email": {"backend": "outbox", "from_email": "shop@demo.example", "from_name": "Demo Shop"},
}

TEMPLATES = [
    {
        "name": "cart-inapp",
        "channel": "inapp",
        "subject": "Still thinking about it?",
        "body": "Your {{ event.properties.product }} is waiting in your cart.",
    },
    {
        "name": "cart-email",
        "channel": "email",
        "subject": "{{ traits.first_name | default: 'Hello' }}, you left something behind",
        "body": (
            "Your cart still holds the {{ event.properties.product }} "
            "({{ event.properties.total }} {{ event.properties.currency }}). "
            "Finish your order: {{ event.properties.cart_url }}"
        ),
        "html": (
            "<h1>You left something behind</h1>"
            "<p>Hi {{ traits.first_name | default: 'there' }}, your cart still holds the "
            "<strong>{{ event.properties.product }}</strong> "
            "({{ event.properties.total }} {{ event.properties.currency }}).</p>"
            '<p><a href="{{ event.properties.cart_url }}">Finish your order</a></p>'
        ),
    },
]

DEFINITION = {
    "trigger": {
        "event": CART_EVENT,
        "where": [{"property": "total", "op": "gt", "value": 0}],
    },
    "entry": {"reentry": "always"},
    "goal": {"event": "Order Completed", "within_hours": 72},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"seconds": 5}, "next": "nudge"},
        "nudge": {
            "type": "send",
            "channel": "inapp",
            "template": "cart-inapp",
            "category": "marketing",
            "topic": "cart",
            "next": "listen",
        },
        "listen": {
            "type": "wait_for",
            "response_to": "nudge",
            "timeout": {"seconds": 5},
            "next": {"matched": "done", "timeout": "email"},
        },
        "email": {
            "type": "send",
            "channel": "email",
            "template": "cart-email",
            "category": "marketing",
            "topic": "cart",
            "next": "done",
        },
        "done": {"type": "exit"},
    },
}


def cart_event(*, message_id: str, user_id: str = customer.USER_ID) -> dict:
    """The track call a shop sends when a customer's cart changes."""
    return {
        "type": "track",
        "userId": user_id,
        "event": CART_EVENT,
        "messageId": message_id,
        "properties": {
            "product": "Down jacket",
            "sku": "JKT-42",
            "total": 149.0,
            "currency": "EUR",
            "cart_url": "https://shop.example/cart",
        },
        "context": {"channel": "web"},
    }


def install(workspace: Workspace) -> Journey:
    """Enable the channels, add the templates and publish the journey, each
    only when the workspace does not have it yet: an operator's later change
    (a real mail server, an edited template, a paused journey) is kept."""
    for plugin_id, settings in CHANNELS.items():
        if not PluginConfig.objects.filter(workspace=workspace, plugin_id=plugin_id).exists():
            configure_plugin(workspace=workspace, plugin_id=plugin_id, settings=settings)
    for fields in TEMPLATES:
        if not MessageTemplate.objects.filter(workspace=workspace, name=fields["name"]).exists():
            save_template(workspace=workspace, **fields)
    journey = Journey.objects.filter(workspace=workspace, name=JOURNEY_NAME).first()
    if journey is None:
        journey = create_journey(
            workspace=workspace,
            name=JOURNEY_NAME,
            description="Ships with the demo: an in-app nudge, then an email; waits of seconds.",
            definition=DEFINITION,
        )
        journey = publish(version=journey.versions.get(number=1))
    return journey


def abandon_cart(workspace: Workspace, *, now: datetime | None = None) -> None:
    """Ada puts the jacket in her cart and leaves: the event goes through
    ingestion and processing, and the journey's trigger lets her in."""
    customer.ingest(workspace, [cart_event(message_id=CART_MESSAGE_ID)], now=now or timezone.now())


def play(
    journey: Journey,
    profile: Profile,
    *,
    echo: Callable[[MessageDecision], None],
    timeout: float = PLAY_TIMEOUT_SECONDS,
) -> Enrollment | None:
    """Run the journey's steps as they come due, as a worker and beat would,
    until ``profile``'s enrollment ends; ``echo`` gets each ledger row once
    written. Returns the enrollment (None when the customer never entered)."""
    enrollment = (
        Enrollment.objects.filter(journey=journey, profile=profile).order_by("-entered_at").first()
    )
    if enrollment is None:
        return None
    seen = 0
    deadline = time.monotonic() + timeout
    while True:
        engine.advance()
        rows = list(ledger(profile, since_id=seen))
        for row in rows:
            echo(row)
            seen = row.pk
        enrollment.refresh_from_db()
        journey.refresh_from_db()
        # A paused or stopped journey takes no step: nothing more to watch.
        over = enrollment.ended_at is not None or journey.status != Journey.LIVE
        if (over and not rows) or time.monotonic() >= deadline:
            return enrollment
        time.sleep(POLL_SECONDS)


def ledger(profile: Profile, *, since_id: int = 0):
    """The customer's ledger rows after ``since_id``, oldest first."""
    return MessageDecision.objects.filter(
        workspace_id=profile.workspace_id, profile=profile, pk__gt=since_id
    ).order_by("pk")
