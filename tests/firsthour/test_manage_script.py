"""``scripts/manage`` runs a command in the caller's directory, so the
relative file the imports docs show (``--file orders.csv``) is the caller's."""

import subprocess
from pathlib import Path

import pytest

from engage.events.models import Event
from engage.plugins.services import configure_plugin
from tests.live_processes import process_env

ROOT = Path(__file__).resolve().parent.parent.parent
IMPORT_ORDERS = ["import_source", "csv_events", "--workspace", "acme", "--file", "orders.csv"]


@pytest.mark.django_db(transaction=True)
def test_a_relative_file_is_read_from_the_callers_directory(make_workspace, tmp_path):
    workspace = make_workspace("acme").workspace
    configure_plugin(workspace=workspace, plugin_id="csv_events", settings={})
    (tmp_path / "orders.csv").write_text(
        "user_id,event,timestamp,properties\nu-1,Order Completed,2026-03-02T09:00:00Z,\n"
    )

    done = subprocess.run(
        [ROOT / "scripts" / "manage", *IMPORT_ORDERS],
        cwd=tmp_path,
        # Processing is a worker's job: published to a broker that is not
        # there (and dropped), not run inline in the importing process.
        env=process_env(CELERY_BROKER_URL="redis://127.0.0.1:9/0"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert "read 1, stored 1" in done.stdout
    assert list(Event.objects.values_list("name", flat=True)) == ["Order Completed"]
