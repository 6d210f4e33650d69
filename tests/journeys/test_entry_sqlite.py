"""Entry on the embedded SQLite default: the same rules and the same rows as
on PostgreSQL, written without PostgreSQL's ``unnest``.

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
from engage.events.recording import EventToRecord, record_events
from engage.journeys import entry
from engage.journeys.models import Enrollment
from engage.messaging.models import MessageDecision
from engage.profiles.models import Profile
from engage.workspaces.services import create_workspace
from tests.journeys.factories import live_journey

workspace = create_workspace(name="acme").workspace
pause = {"pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
         "done": {"type": "exit"}}
ordered = live_journey(workspace, {"trigger": {"event": "Order Completed"},
                                   "entry": {"daily_limit": 2},
                                   "start": "pause", "nodes": pause}, name="orders")
by_hand = live_journey(workspace, {"trigger": {"manual": True}, "start": "pause", "nodes": pause},
                       name="by hand")
ann, bob, cid = (Profile.objects.create(workspace=workspace) for _ in range(3))
at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
first = entry.enroll(journey=by_hand, profile_ids=[ann.pk, bob.pk], now=at)
again = entry.enroll(journey=by_hand, profile_ids=[bob.pk, cid.pk], now=at)
record_events([EventToRecord(workspace.pk, p.pk, "Order Completed", f"o{p.pk}", at, {})
               for p in (ann, bob, cid)])
names = {ann.pk: "ann", bob.pk: "bob", cid.pk: "cid"}
print(json.dumps({
    "first": sorted(names[e.profile_id] for e in first.entered),
    "again": [sorted(names[e.profile_id] for e in again.entered),
              {names[k]: v for k, v in again.refused.items()}],
    "ordered": sorted(names[e.profile_id] for e in Enrollment.objects.filter(journey=ordered)),
    "ledger": sorted(
        MessageDecision.objects.filter(action="enter").values_list("reason", flat=True)
    ),
}))
"""


def test_entry_works_on_sqlite(tmp_path):
    done = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result == {
        "first": ["ann", "bob"],
        "again": [["cid"], {"bob": "already_active"}],
        # The daily limit lets the first two orders in.
        "ordered": ["ann", "bob"],
        "ledger": ["event", "event", "manual", "manual", "manual"],
    }
