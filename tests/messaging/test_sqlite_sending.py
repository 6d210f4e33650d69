"""Batched creation and chunked sends on the embedded SQLite default, in a
subprocess with its own file, to a loopback SMTP server."""

import json

from tests.live_processes import run_embedded

SCRIPT = """
import datetime as dt, json, os
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.utils import timezone
from engage.messaging import consent, sending, services
from engage.messaging.models import Message, MessageTemplate
from engage.messaging.services import NewMessage
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile
from engage.workspaces.services import create_workspace

ws = create_workspace(name="acme").workspace
configure_plugin(workspace=ws, plugin_id="email", settings={
    "from_email": "news@shop.example", "smtp_host": "127.0.0.1",
    "smtp_port": int(os.environ["SMTP_PORT"]), "timeout": 5})
people = []
for i in range(4):
    p = Profile.objects.create(workspace=ws, traits={"first_name": f"P{i}"})
    Identity.objects.create(workspace=ws, profile=p, kind="email", value=f"p{i}@x.io")
    people.append(p)
consent.record_consent(profile=people[3], status="opted_out", source="api", channel="email")
template = MessageTemplate.objects.create(workspace=ws, name="t", channel="email",
    subject="Hi {{ traits.first_name }}", body="Hello {{ profile.identities.email }}")
batch = [NewMessage(p, f"k{i}") for i, p in enumerate(people)]
made = services.create_messages(workspace=ws, channel="email", category="marketing",
    template=template, messages=batch, send_now=False)
again = services.create_messages(workspace=ws, channel="email", category="marketing",
    template=template, messages=batch[:2], send_now=False)
sent = sending.send_due()
# A worker that died after its claim: the message goes back to the queue.
late = services.create_messages(workspace=ws, channel="email", category="transactional",
    template=template, messages=[NewMessage(people[0], "late")], send_now=False)[0].message
claims, _ = sending._claim([late.pk], workspace_id=None, now=timezone.now(), limit=5)
later = timezone.now() + sending.sending_timeout() + dt.timedelta(seconds=1)
recovered = sending.recover_stuck(now=later)
# Marketing pauses: extended, never shortened; an end applied before an older start.
from engage.events.signals import RecordedEvent
from engage.messaging import pauses
day = dt.timedelta(days=1)
t0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
pause = lambda until, at, detail: pauses.pause_marketing(workspace_id=ws.pk,
    profile_ids=[people[0].pk], reason="detractor_pause", until=until, at=at, detail=detail)
pause(t0 + 9 * day, t0, "NPS 1")
pause(t0 + 3 * day, t0 + day, "NPS 2")
ticket = lambda name, at: RecordedEvent(0, ws.pk, people[1].pk, name, at, name, "")
pauses.follow_tickets([ticket("Ticket Solved", t0 + 2 * day)])
pauses.follow_tickets([ticket("Ticket Opened", t0 + day)])
paused = pauses.in_force([people[0].pk, people[1].pk], t0 + 2 * day)
print(json.dumps({
    "paused": [[p == people[0].pk, v.reason, v.until.isoformat(), v.detail]
               for p, v in paused.items()],
    "created": [c.created for c in made] + [c.created for c in again],
    "same": [a.message.pk for a in again] == [c.message.pk for c in made[:2]],
    "bodies": [c.message.body for c in made],
    "sent": sent,
    "statuses": [Message.objects.get(pk=c.message.pk).status for c in made],
    "claimed": len(claims),
    "recovered": recovered,
    "late": Message.objects.get(pk=late.pk).status,
}))
"""


def test_create_and_send_in_chunks_on_sqlite(tmp_path, smtp_server):
    result = run_embedded(
        ["-c", SCRIPT],
        tmp_path / "engage.sqlite3",
        SMTP_PORT=str(smtp_server.port),
        ENGAGE_OUTBOUND_ALLOWED_NETWORKS="127.0.0.0/8",
    )
    assert result.returncode == 0, result.stderr

    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["created"] == [True, True, True, True, False, False] and out["same"]
    assert out["bodies"] == [f"Hello p{i}@x.io" for i in range(4)]
    assert (out["sent"], out["statuses"]) == (3, ["sent", "sent", "sent", "skipped"])
    assert sorted(m["to"][0] for m in smtp_server.messages) == ["p0@x.io", "p1@x.io", "p2@x.io"]
    assert (out["claimed"], out["recovered"], out["late"]) == (1, 1, "queued")
    assert out["paused"] == [[True, "detractor_pause", "2030-01-10T00:00:00+00:00", "NPS 1"]]
