"""Publishing a new version of a running journey: customers in flight stay on
their version, or move onto the new one by a node mapping, counted first."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.journeys import engine, services
from engage.journeys.models import Enrollment, JourneyVersion
from engage.messaging.models import Message
from tests.customer_factories import ProfileFactory

from .factories import live_journey
from .walking import T0, enroll, ledger

pytestmark = pytest.mark.django_db

OLD = {
    "trigger": {"manual": True},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"hours": 1}, "next": "nudge"},
        "nudge": {"type": "wait", "duration": {"hours": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}
NEW = {
    "trigger": {"manual": True},
    "start": "linger",
    "nodes": {
        "linger": {"type": "wait", "duration": {"hours": 2}, "next": "done"},
        "done": {"type": "exit"},
    },
}


@pytest.fixture
def api(client, workspace):
    def call(method, path, body=None):
        return getattr(client, method)(
            path,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}",
        )

    return call


@pytest.fixture
def in_flight(workspace):
    """A live journey on version 1 with two customers waiting at ``pause``, one
    at ``nudge`` (gone from the draft version 2) and one due at ``done``."""
    journey = live_journey(workspace.workspace, OLD)
    JourneyVersion.objects.create(journey=journey, number=2, definition=NEW)
    profiles = ProfileFactory.create_batch(4, workspace=workspace.workspace)
    until = T0 + dt.timedelta(hours=1)
    pausing = enroll(journey, profiles[:2], node_id="pause")
    nudged = enroll(journey, profiles[2:3], node_id="nudge")
    Enrollment.objects.filter(pk__in=[e.pk for e in pausing + nudged]).update(
        waiting=True, next_run_at=until
    )
    done = enroll(journey, profiles[3:], node_id="done")
    return journey, pausing, nudged[0], done[0]


def _where(enrollment: Enrollment) -> tuple:
    enrollment.refresh_from_db()
    return enrollment.version.number, enrollment.node_id, enrollment.end_reason


def test_the_dry_run_counts_who_would_move_where_and_changes_nothing(api, in_flight):
    journey, pausing, nudged, done = in_flight
    url = f"/api/journeys/{journey.pk}/versions/2/publish/plan"

    planned = api("post", url, {"migrate": {"pause": "linger"}})

    assert planned.status_code == 200, planned.json()
    assert planned.json()["moves"] == [
        {"version": 1, "node": "done", "to": "done", "customers": 1},
        {"version": 1, "node": "nudge", "to": None, "customers": 1},
        {"version": 1, "node": "pause", "to": "linger", "customers": 2},
    ]
    assert api("post", url).json() == {"moves": []}  # without a mapping nobody moves
    assert JourneyVersion.objects.get(journey=journey, number=2).published_at is None
    assert [_where(e) for e in [*pausing, nudged, done]] == [
        (1, "pause", ""),
        (1, "pause", ""),
        (1, "nudge", ""),
        (1, "done", ""),
    ]


def test_publishing_without_a_mapping_leaves_everyone_on_their_version(api, in_flight):
    journey, pausing, nudged, _ = in_flight

    published = api("post", f"/api/journeys/{journey.pk}/versions/2/publish")

    assert published.json()["live_version"] == 2
    assert [_where(e) for e in [*pausing, nudged]] == [
        (1, "pause", ""),
        (1, "pause", ""),
        (1, "nudge", ""),
    ]
    assert not AuditEntry.objects.filter(action="migrated").exists()


def test_publishing_with_a_mapping_moves_customers_and_exits_those_of_removed_nodes(api, in_flight):
    journey, pausing, nudged, done = in_flight
    queued = Message.objects.create(
        workspace=journey.workspace,
        profile_id=nudged.profile_id,
        channel="email",
        status=Message.QUEUED,
        source=Message.JOURNEY,
        journey_id=journey.pk,
        journey_version=1,
        journey_node_id="nudge",
        enrollment_id=nudged.pk,
        idempotency_key=f"nudge-{nudged.pk}",
    )

    published = api(
        "post", f"/api/journeys/{journey.pk}/versions/2/publish", {"migrate": {"pause": "linger"}}
    )

    assert published.status_code == 200, published.json()
    assert [_where(e) for e in [*pausing, nudged, done]] == [
        (2, "linger", ""),
        (2, "linger", ""),
        (1, "nudge", Enrollment.VERSION_REMOVED),
        (2, "done", ""),
    ]
    assert ledger(pausing[0]) == [("enter", "migrated", "linger")]
    assert ledger(nudged)[0] == ("exit", "version_removed", "nudge")
    queued.refresh_from_db()
    assert queued.status == Message.CANCELLED
    audit = AuditEntry.objects.get(action="migrated", object_id=journey.pk)
    assert (audit.after["moved"], audit.after["removed"]) == (3, 1)

    # A customer moved onto a wait starts it fresh: the new version's two hours from now.
    now = timezone.now()
    engine.advance(now=now)
    moved = Enrollment.objects.get(pk=pausing[0].pk)
    assert moved.waiting and moved.next_run_at == now + dt.timedelta(hours=2)
    assert Enrollment.objects.get(pk=done.pk).end_reason == Enrollment.COMPLETED


@pytest.mark.parametrize(
    ("migrate", "path"),
    [
        ({"gone": "linger"}, "migrate.gone"),
        ({"pause": "nowhere"}, "migrate.pause"),
        ({"pause": 7}, "migrate.pause"),
        (["pause"], "migrate"),
    ],
    ids=["unknown-old-node", "unknown-new-node", "not-a-node-id", "not-an-object"],
)
@pytest.mark.parametrize("endpoint", ["publish", "publish/plan"])
def test_a_bad_mapping_is_a_400_naming_the_path_and_changes_nothing(
    api, in_flight, migrate, path, endpoint
):
    journey, pausing, _, _ = in_flight

    response = api(
        "post", f"/api/journeys/{journey.pk}/versions/2/{endpoint}", {"migrate": migrate}
    )

    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == [path]
    assert JourneyVersion.objects.get(journey=journey, number=2).published_at is None
    assert _where(pausing[0]) == (1, "pause", "")


def test_the_admin_shows_who_would_move_and_publishes_with_a_migration(admin_client, in_flight):
    journey, pausing, nudged, done = in_flight
    draft = JourneyVersion.objects.get(journey=journey, number=2)

    page = admin_client.get(f"/admin/journeys/journeyversion/{draft.pk}/change/")

    text = " ".join(page.text.split())
    assert "Version 1, <strong>nudge</strong>: 1 customer leaves (version_removed)" in text
    assert "Version 1, <strong>done</strong>: 1 customer moves to <strong>done</strong>" in text
    published = admin_client.post(
        "/admin/journeys/journeyversion/",
        {"action": "publish_and_migrate", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert "v2 is published." in published.text
    assert [_where(e) for e in [*pausing, nudged, done]] == [
        (1, "pause", Enrollment.VERSION_REMOVED),
        (1, "pause", Enrollment.VERSION_REMOVED),
        (1, "nudge", Enrollment.VERSION_REMOVED),
        (2, "done", ""),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_customer_a_worker_holds_is_migrated_from_where_its_step_left_it(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections: PostgreSQL only")
    journey = live_journey(workspace.workspace, OLD)
    draft = JourneyVersion.objects.create(journey=journey, number=2, definition=NEW)
    (enrollment,) = enroll(journey, ProfileFactory.create_batch(1, workspace=workspace.workspace))
    stepped, release = threading.Event(), threading.Event()

    def worker():
        # A worker in the middle of a batch: the row locked, moved on, not yet committed.
        with transaction.atomic():
            held = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
            held.node_id = "nudge"
            held.save(update_fields=["node_id"])
            stepped.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=worker)
    holder.start()
    stepped.wait(10)
    publishing = threading.Thread(
        target=lambda: (
            services.publish(version=draft, migrate={"pause": None, "nudge": "linger"}),
            connection.close(),
        )
    )
    publishing.start()
    publishing.join(0.5)
    assert publishing.is_alive()  # the publish waits for the worker's batch
    release.set()
    holder.join(10)
    publishing.join(10)

    assert _where(enrollment) == (2, "linger", "")
