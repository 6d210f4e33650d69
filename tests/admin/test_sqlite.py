"""Admin filters the embedded SQLite default cannot run answer 400, not 500.

SQLite has no containment lookup on JSON (``?traits__email__contains=``);
it runs in a subprocess with its own database file, as on the default install.
"""

import json

from tests.live_processes import run_embedded

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
    done = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert done.returncode == 0, done.stderr
    statuses = json.loads(done.stdout.strip().splitlines()[-1])

    assert statuses == {
        "/admin/profiles/profile/?traits__email__contains=x": 400,
        "/admin/profiles/profile/?traits__contains=x": 400,
        "/admin/plugins/pluginconfig/?settings__contains=x": 400,
        # What SQLite can run still works.
        "/admin/profiles/profile/?traits__email__icontains=x": 200,
    }
