"""An import run twice reports its rows as stored the first time and as
duplicates the second, on PostgreSQL and on the embedded SQLite default
(whose ``bulk_create(ignore_conflicts=True)`` returns every row given)."""

from io import StringIO

import pytest
from django.core.management import call_command

from engage.plugins.services import configure_plugin
from tests.live_processes import run_embedded

CSV = "user_id,email\nu-1,ada@example.com\nu-2,grace@example.com\n"

SQLITE_SCRIPT = """
import datetime as dt
import django
django.setup()
from django.core.management import call_command
call_command("migrate", "events", verbosity=0)
from engage.events.ingestion.storage import store_events
from engage.events.ingestion.validation import Batch, validate_message
from engage.workspaces.models import Workspace
ws = Workspace.objects.create(name="acme")
batch = Batch(received_at=dt.datetime.now(dt.UTC))
calls = [{"type": "track", "userId": "u-1", "event": "Seen", "messageId": f"m-{i}"}
         for i in range(2)]
rows = [validate_message(call, None, batch, [], None) for call in calls]
print("stored", store_events(workspace_id=ws.pk, rows=rows))
print("stored", store_events(workspace_id=ws.pk, rows=rows))
"""


def summaries(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("read ")]


@pytest.mark.django_db
def test_a_rerun_reports_duplicates_on_postgresql(workspace, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(CSV)
    configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})
    lines = []
    for _ in range(2):
        out = StringIO()
        call_command(
            "import_source", "csv_customers", "--workspace", "acme", "--file", str(path), stdout=out
        )
        lines += summaries(out.getvalue())
    assert lines == [
        "read 2, stored 2, duplicates 0, invalid 0",
        "read 2, stored 0, duplicates 2, invalid 0",
    ]


def test_a_rerun_stores_nothing_and_says_so_on_sqlite(tmp_path):
    """On SQLite too, the count is what was stored, not the rows given."""
    done = run_embedded(["-c", SQLITE_SCRIPT], tmp_path / "engage.sqlite3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-4:] == ["stored", "2", "stored", "0"]
