"""The same models on the embedded SQLite default, in a subprocess with its own file.

One run over a small hand-built workspace: RFM cells and dormancy must come out
as on PostgreSQL (see test_rfm and test_dormancy), and the other models must run.
"""

import json

from tests.live_processes import run_embedded

SCRIPT = """
import datetime as dt, io, json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from engage.events.models import Event
from engage.profiles.models import Profile
from engage.scoring.models import Score
from engage.scoring.services import compute_workspace
from engage.workspaces.services import create_workspace

ws = create_workspace(name="acme").workspace
as_of = dt.datetime(2025, 6, 2, 12, tzinfo=dt.UTC)
n = 0
def did(profile, name, days_ago, **properties):
    global n
    n += 1
    at = as_of - dt.timedelta(days=days_ago)
    Event.objects.create(workspace=ws, profile=profile, message_id=f"m{n}", type="track",
        name=name, timestamp=at, received_at=at, properties=properties, processed_at=at)
people = {}
for name, last, count, revenue in [("A", 1, 5, 50), ("B", 10, 1, 500), ("C", 20, 3, 10),
                                   ("D", 100, 4, 20), ("E", 200, 2, 5)]:
    people[name] = Profile.objects.create(workspace=ws)
    for k in range(count):
        did(people[name], "Order Completed", last + k, revenue=revenue)
did(people["A"], "Email Delivered", 3)
did(people["A"], "Email Opened", 2)
for days in (1.5, 1, 0.5):
    did(people["B"], "Pricing Viewed", days)
did(people["B"], "Guide Downloaded", 1)
runs = compute_workspace(ws, as_of=as_of)
by_id = {p.pk: name for name, p in people.items()}
print(json.dumps({
    "rows": {run.model: run.rows for run in runs},
    "scores": {f"{by_id[s.profile_id]}.{s.model}": [s.value, s.cell]
               for s in Score.objects.all()},
}))
"""


def test_scoring_runs_on_sqlite(tmp_path):
    result = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert result.returncode == 0, result.stderr

    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["rows"] == {
        "ces": 5,
        "csat": 0,
        "dormancy": 5,
        "effort": 0,
        "intent": 1,
        "nps": 0,
        "responsiveness": 1,
        "rfm": 5,
    }
    scores = out["scores"]
    assert {name: scores[f"{name}.rfm"] for name in "ABCDE"} == {
        "A": [554, "champions"],
        "B": [415, "promising"],
        "C": [332, "need_attention"],
        "D": [243, "at_risk"],
        "E": [121, "hibernating"],
    }
    assert scores["D.dormancy"] == [100, "at_risk"]
    assert scores["E.dormancy"] == [200, "dormant"]
    assert scores["B.intent"] == [90, "high"]
    assert scores["A.responsiveness"] == [1.0, "email"]
    assert 0 < scores["A.ces"][0] <= 100
