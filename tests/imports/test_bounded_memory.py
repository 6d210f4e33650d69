"""An import streams its file: 20,000 rows go through ``import_source`` in a
process whose address space is capped at 512 MB (``RLIMIT_AS``), where
reading the file whole, or keeping every row, would be refused memory; and a
10 MB cell (the reliability matrix's giant field) is refused there, the run
failing with the rows it could not read named, not succeeding without them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engage.events.models import Event
from engage.imports.models import ImportRun
from engage.plugins.services import configure_plugin
from tests.live_processes import process_env

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

    done = import_capped(path)

    assert done.returncode == 0, done.stderr[-2000:]
    assert f"read {ROWS}, stored {ROWS}, duplicates 0, invalid 0" in done.stdout
    assert Event.objects.filter(workspace=workspace).count() == ROWS
    assert ImportRun.objects.get().status == "succeeded"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_ten_megabyte_cell_fails_the_run_naming_the_rows_not_read(make_workspace, tmp_path):
    workspace = make_workspace("acme").workspace
    configure_plugin(workspace=workspace, plugin_id="csv_events", settings={})
    path = tmp_path / "events.csv"
    with path.open("w") as f:
        f.write("user_id,event,timestamp,properties\n")
        f.write("u-1,Page Viewed,2026-03-02T09:00:00Z,\n")
        f.write(f'u-2,Page Viewed,2026-03-02T09:01:00Z,"{"x" * (10 * 1024 * 1024)}"\n')
        f.write("u-3,Page Viewed,2026-03-02T09:02:00Z,\n")

    done = import_capped(path)

    assert done.returncode == 1, done.stderr[-2000:]
    assert "read 2, stored 1, duplicates 0, invalid 1" in done.stdout
    assert "line 3: file: not a CSV file: field larger than field limit" in done.stdout
    assert "the rows after line 3 were not read" in done.stderr
    run = ImportRun.objects.get()
    assert run.status == "failed"
    assert run.failure.startswith("the rows after line 3 were not read")
    assert list(Event.objects.values_list("user_id", flat=True)) == ["u-1"]


def import_capped(path: Path) -> subprocess.CompletedProcess:
    """``import_source csv_events`` of ``path`` in a process capped at 512 MB."""
    return subprocess.run(
        [sys.executable, "-c", CAPPED, "manage.py", *COMMAND, "--file", str(path)],
        cwd=ROOT,
        # Processing is a worker's job: published to a broker that is not
        # there (and dropped), not run inline in the importing process.
        env=process_env(CELERY_BROKER_URL="redis://127.0.0.1:9/0"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
