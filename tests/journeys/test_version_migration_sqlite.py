"""Migrating customers in flight on the embedded SQLite default: the same
UPDATEs move one customer and end another with ``version_removed``.

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
from engage.journeys.models import Enrollment, JourneyVersion
from engage.messaging.models import MessageDecision
from engage.profiles.models import Profile
from engage.workspaces.services import create_workspace
from tests.journeys.factories import live_journey

workspace = create_workspace(name="acme").workspace
wait = {"type": "wait", "duration": {"hours": 1}, "next": "done"}
journey = live_journey(workspace, {"trigger": {"manual": True}, "start": "pause",
    "nodes": {"pause": wait, "nudge": wait, "done": {"type": "exit"}}})
draft = JourneyVersion.objects.create(journey=journey, number=2, definition={
    "trigger": {"manual": True}, "start": "linger",
    "nodes": {"linger": wait, "done": {"type": "exit"}}})
at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
walking = [Enrollment.objects.create(workspace=workspace, journey=journey,
    version=journey.live_version, profile=Profile.objects.create(workspace=workspace),
    node_id=node, waiting=True, next_run_at=at, entered_at=at) for node in ("pause", "nudge")]
services.publish(version=draft, migrate={"pause": "linger"}, now=at)
for enrollment in walking:
    enrollment.refresh_from_db()
print(json.dumps({
    "walking": [[e.version.number, e.node_id, e.waiting, e.end_reason] for e in walking],
    "ledger": sorted(MessageDecision.objects.values_list("action", "reason")),
}))
"""


def test_migrating_customers_works_on_sqlite(tmp_path):
    done = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result == {
        "walking": [[2, "linger", True, ""], [1, "nudge", False, "version_removed"]],
        # The embedded default runs the engine at once: the moved customer waits afresh.
        "ledger": [["enter", "migrated"], ["exit", "version_removed"], ["wait", "duration"]],
    }
