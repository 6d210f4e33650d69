"""Admin filters the embedded SQLite default cannot run answer 400, not 500.

SQLite has no containment lookup on JSON (``?traits__email__contains=``);
it runs in a subprocess with its own database file, as on the default install.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
from django.test import Client
from engage.workspaces.services import create_workspace

create_workspace(name="acme")
client = Client(raise_request_exception=False)
client.force_login(User.objects.create(username="root", is_staff=True, is_superuser=True))
urls = [
    "/admin/profiles/profile/?traits__email__contains=x",
    "/admin/profiles/profile/?traits__contains=x",
    "/admin/plugins/pluginconfig/?settings__contains=x",
    "/admin/profiles/profile/?traits__email__icontains=x",
]
print(json.dumps({url: client.get(url).status_code for url in urls}))
"""


def test_json_containment_filters_are_refused_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'engage.sqlite3'}",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    statuses = json.loads(done.stdout.strip().splitlines()[-1])

    assert statuses == {
        "/admin/profiles/profile/?traits__email__contains=x": 400,
        "/admin/profiles/profile/?traits__contains=x": 400,
        "/admin/plugins/pluginconfig/?settings__contains=x": 400,
        # What SQLite can run still works.
        "/admin/profiles/profile/?traits__email__icontains=x": 200,
    }
