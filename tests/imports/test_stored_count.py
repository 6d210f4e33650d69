"""An import run twice reports its rows as stored the first time and as
duplicates the second, on PostgreSQL and on the embedded SQLite default."""

from io import StringIO

import pytest
from django.core.management import call_command

from engage.plugins.services import configure_plugin
from tests.live_processes import run_embedded

CSV = "user_id,email\nu-1,ada@example.com\nu-2,grace@example.com\n"

SQLITE_SCRIPT = """
import sys
import django
django.setup()
from io import StringIO
from django.core.management import call_command
call_command("migrate", verbosity=0)
from engage.plugins.services import configure_plugin
from engage.workspaces.services import create_workspace
ws = create_workspace(name="acme").workspace
configure_plugin(workspace=ws, plugin_id="csv_customers", settings={})
for _ in range(2):
    out = StringIO()
    call_command("import_source", "csv_customers", "--workspace", "acme",
                 "--file", sys.argv[1], stdout=out)
    print([line for line in out.getvalue().splitlines() if line.startswith("read")][0])
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


def test_a_rerun_reports_duplicates_on_sqlite(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(CSV)
    done = run_embedded(["-c", SQLITE_SCRIPT, str(path)], tmp_path / "engage.sqlite3")
    assert done.returncode == 0, done.stderr
    assert summaries(done.stdout) == [
        "read 2, stored 2, duplicates 0, invalid 0",
        "read 2, stored 0, duplicates 2, invalid 0",
    ]
