"""The broadcast's admin page shows its status and progress; the list's
actions pause, resume and cancel through the services."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from engage.broadcasts import runs, services
from engage.broadcasts.models import Broadcast

from .factories import audience, inapp_template

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def broadcast(workspace, settings):
    settings.ENGAGE_BROADCAST_SECONDS = 1.0
    ws = workspace.workspace
    segment, _ = audience(ws, 5)
    inapp_template(ws)
    with time_machine.travel(T0, tick=False):
        broadcast = services.create_broadcast(
            workspace=ws,
            name="winter sale",
            segment_id=segment.pk,
            action=Broadcast.MESSAGE,
            template="sale",
            schedule=Broadcast.ONCE,
            send_at=T0 + dt.timedelta(hours=1),
            rate=2,
        )
        services.schedule_broadcast(broadcast=broadcast)
    runs.run_due(now=T0 + dt.timedelta(hours=1))
    return broadcast


def act(admin_client, action: str, broadcast) -> str:
    response = admin_client.post(
        reverse("admin:broadcasts_broadcast_changelist"),
        {"action": action, "_selected_action": [broadcast.pk]},
        follow=True,
    )
    return response.content.decode()


def test_the_page_shows_status_and_progress(admin_client, broadcast):
    page = admin_client.get(
        reverse("admin:broadcasts_broadcast_change", args=[broadcast.pk])
    ).content.decode()

    assert "winter sale" in page
    assert "running" in page
    assert "once, 2026-12-01 01:00 UTC" in page
    assert "queued: 2" in page, "its messages by status"


def test_actions_pause_resume_and_cancel_and_name_what_is_refused(admin_client, broadcast):
    assert "Winter sale: paused." in act(admin_client, "pause", broadcast)
    assert "Winter sale: the broadcast is paused, not scheduled or running" in act(
        admin_client, "pause", broadcast
    )
    assert "Winter sale: resumed." in act(admin_client, "resume", broadcast)
    assert "cancelled, with its unsent messages" in act(admin_client, "cancel", broadcast)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.CANCELLED
    listing = admin_client.get(reverse("admin:broadcasts_broadcast_changelist")).content.decode()
    assert "cancelled" in listing
