"""An import streams its file: 20,000 rows go through ``import_source`` in a
process whose address space is capped at 512 MB (``RLIMIT_AS``), where
reading the file whole, or keeping every row, would be refused memory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from engage.events.models import Event
from engage.imports.models import ImportRun
from engage.plugins.services import configure_plugin

ROOT = Path(__file__).resolve().parent.parent.parent
LIMIT = 512 * 1024 * 1024
ROWS = 20_000
COMMAND = ["import_source", "csv_events", "--workspace", "acme"]
CAPPED = f"""
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_twenty_thousand_rows_import_in_512_mb(make_workspace, tmp_path):
    workspace = make_workspace("acme").workspace
    configure_plugin(workspace=workspace, plugin_id="csv_events", settings={})
    path = tmp_path / "events.csv"
    with path.open("w") as f:
        f.write("user_id,event,timestamp,properties\n")
        for i in range(ROWS):
            props = json.dumps({"n": i}).replace('"', '""')
            f.write(f'u-{i % 500},Page Viewed,2026-03-02T09:{i % 60:02d}:00Z,"{props}"\n')

    done = subprocess.run(
        [sys.executable, "-c", CAPPED, "manage.py", *COMMAND, "--file", str(path)],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"},
            "DATABASE_URL": database_url(),
            # Processing is a worker's job: published to a broker that is not
            # there (and dropped), not run inline in the importing process.
            "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert f"read {ROWS}, stored {ROWS}, duplicates 0, invalid 0" in done.stdout
    assert Event.objects.filter(workspace=workspace).count() == ROWS
    assert ImportRun.objects.get().status == "succeeded"
