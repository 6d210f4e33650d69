"""Broadcasts and send rates on the embedded SQLite default (no Redis, no
broker: tasks inline, the send-rate bucket in the database), in a subprocess
with its own file."""

import json

from tests.live_processes import run_embedded

SCRIPT = """
import datetime as dt, json, time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.utils import timezone
from engage.broadcasts import runs, services
from engage.broadcasts.models import Broadcast
from engage.broadcasts.selectors import message_counts
from engage.messaging.services import save_template
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile
from engage.segments import membership
from engage.segments.models import Segment
from engage.sendrates.models import SendRateBucket
from engage.workspaces.services import create_workspace

ws = create_workspace(name="acme").workspace
configure_plugin(workspace=ws, plugin_id="inapp", settings={"send_rate": 20})
save_template(workspace=ws, name="sale", channel="inapp", subject="Sale", body="Hi")
segment = Segment.objects.create(workspace=ws, name="all", kind=Segment.STATIC)
ids = []
for i in range(6):
    p = Profile.objects.create(workspace=ws, traits={"timezone": "Asia/Tokyo"})
    Identity.objects.create(workspace=ws, profile=p, kind="user_id", value=f"u{i}")
    ids.append(p.pk)
membership.add_members(segment, ids)
common = dict(workspace=ws, segment_id=segment.pk, action="message", template="sale", rate=100)
once = services.create_broadcast(name="now", schedule="once",
    send_at=timezone.now() + dt.timedelta(seconds=1), **common)
services.schedule_broadcast(broadcast=once)
started = time.monotonic()
runs.run_due(now=once.send_at)
took = time.monotonic() - started
daily = services.create_broadcast(name="daily", schedule="daily", local_time="09:00",
    timezone="customer", **common)
daily = services.schedule_broadcast(broadcast=daily)
runs.run_due(now=daily.next_slice_at)
queued = message_counts(daily)
services.cancel_broadcast(broadcast=daily)
print(json.dumps({
    "once": [Broadcast.objects.get(pk=once.pk).status, message_counts(once)],
    "took": took,
    "buckets": SendRateBucket.objects.count(),
    "daily": [queued, message_counts(daily)],
}))
"""


def test_a_broadcast_sends_at_the_channels_rate_and_cancels_on_sqlite(tmp_path):
    result = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert result.returncode == 0, result.stderr

    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["once"] == ["completed", {"sent": 6}]
    # Six sends 50 ms apart, booked in the database: a quarter of a second at least.
    assert out["took"] >= 0.25
    assert out["buckets"] == 1
    assert out["daily"] == [{"queued": 6}, {"cancelled": 6}]
