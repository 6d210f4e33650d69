"""Stopping a journey on the embedded SQLite default: the same set-based SQL
ends the enrollments, writes their exit rows and cancels their queued messages.

It runs in a subprocess with its own database file, as on the default install.
"""

import json

from tests.live_processes import run_embedded

SCRIPT = """
import datetime as dt
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from engage.journeys import services
from engage.journeys.models import Enrollment
from engage.messaging.models import Message, MessageDecision
from engage.profiles.models import Profile
from engage.workspaces.services import create_workspace
from tests.journeys.factories import live_journey

workspace = create_workspace(name="acme").workspace
journey = live_journey(workspace, {"trigger": {"manual": True}, "start": "done",
                                   "nodes": {"done": {"type": "exit"}}})
profile = Profile.objects.create(workspace=workspace)
at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
inside = Enrollment.objects.create(workspace=workspace, journey=journey,
    version=journey.live_version, profile=profile, node_id="done", entered_at=at)
message = Message.objects.create(workspace=workspace, profile=profile, channel="email",
    category="marketing", body="Hi", idempotency_key="k", source="journey",
    journey_id=journey.pk, journey_version=1, journey_node_id="done", enrollment_id=inside.pk)
services.stop(journey=journey, now=at + dt.timedelta(minutes=1))
inside.refresh_from_db()
message.refresh_from_db()
print(json.dumps({
    "end_reason": inside.end_reason,
    "ended_at": inside.ended_at.isoformat(),
    "message": message.status,
    "ledger": sorted(MessageDecision.objects.values_list("action", "reason")),
}))
"""


def test_stopping_a_journey_works_on_sqlite(tmp_path):
    done = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result == {
        "end_reason": "journey_stopped",
        "ended_at": "2026-03-02T09:01:00+00:00",
        "message": "cancelled",
        "ledger": [["cancel", "cancelled"], ["exit", "journey_stopped"]],
    }
