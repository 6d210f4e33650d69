"""The same metrics on the embedded SQLite default, in a subprocess with its
own file: every figure of the hand-worked shop must come out as on
PostgreSQL (whose figures the other tests check by hand), rollups included."""

import json

from tests.live_processes import run_embedded
from tests.metrics.dataset import snapshot

SCRIPT = """
import json
import django
django.setup()
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
# Tables straight from the models (as pytest's --no-migrations): the metrics
# need no data a migration writes, and this is seconds instead of half a minute.
settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
call_command("migrate", run_syncdb=True, verbosity=0)
from engage.metrics.tasks import roll_up_workspace
from engage.workspaces.services import create_workspace
from tests.metrics.dataset import Shop, snapshot

shop = Shop(create_workspace(name="acme").workspace, create_workspace(name="globex").workspace)
live = snapshot(shop)
roll_up_workspace(shop.workspace.pk)
print(json.dumps({"live": live, "rolled_up": snapshot(shop)}))
"""


def test_metrics_on_sqlite_match_postgresql(shop, tmp_path):
    result = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])

    expected = snapshot(shop)
    for name in expected:
        assert out["live"][name] == expected[name], name
        assert out["rolled_up"][name] == expected[name], name
