"""The overview on the embedded SQLite default, in a subprocess with its own
file: every chart's table holds the same hand-worked numbers as on
PostgreSQL."""

import json

from tests.dashboards.shop import EXPECTED
from tests.live_processes import run_embedded

SCRIPT = """
import json
import django
django.setup()
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
# Tables straight from the models: seconds instead of half a minute of migrations.
settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
call_command("migrate", run_syncdb=True, verbosity=0)
from django.contrib.auth.models import User
from django.test import Client
from engage.workspaces.services import create_workspace
from tests.dashboards.shop import QUERY, seed
from tests.dashboards.tables import chart_tables

acme = create_workspace(name="acme").workspace
seed(acme, create_workspace(name="globex").workspace)
client = Client()
client.force_login(User.objects.create(username="root", is_staff=True, is_superuser=True))
page = client.get("/admin/dashboards/overview/", {**QUERY, "workspace": acme.pk})
print(json.dumps({"status": page.status_code, "charts": chart_tables(page.content.decode())}))
"""


def test_the_overview_on_sqlite_shows_the_same_numbers(tmp_path):
    result = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])

    assert out == {"status": 200, "charts": EXPECTED}
