"""Import runs as an operator follows them: an upload becomes a run, queued
for a worker when there is a broker, with its progress and history in the
admin."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from engage.events.models import Event
from engage.imports import tasks
from engage.imports.models import ImportRun
from engage.plugins.services import configure_plugin

pytestmark = pytest.mark.django_db

PERMISSIONS = [
    "plugins.view_pluginconfig",
    "plugins.change_pluginconfig",
    "imports.view_importrun",
    "imports.import_data",
]
CSV = "email,first_name\nann@acme.example,Ann\nnot-an-email,Bob\n"


@pytest.fixture
def staff(make_operator, workspace):
    return make_operator("ann", workspace.workspace, permissions=PERMISSIONS)


@pytest.fixture
def imports(settings, tmp_path):
    settings.ENGAGE_IMPORT_DIR = str(tmp_path / "imports")
    return tmp_path / "imports"


def upload(client, config, content: str, mode: str = "apply_valid"):
    return client.post(
        reverse("admin:plugins_pluginconfig_change", args=[config.pk]),
        {
            "enabled": "on",
            "setting_source": "csv",
            "import_mode": mode,
            "import_file": SimpleUploadedFile("list.csv", content.encode()),
        },
        follow=True,
    )


def test_with_a_broker_an_upload_is_queued_and_a_worker_runs_it(
    staff, workspace, imports, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a worker will take it
    config = configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})

    page = upload(staff, config, CSV).content.decode()

    run = ImportRun.objects.get()
    assert f'queued as <a href="/admin/imports/importrun/{run.pk}/change/">import run' in page
    assert (run.status, run.file_name, run.file_size) == ("queued", "list.csv", len(CSV))
    kept = Path(imports / str(workspace.workspace.pk) / run.stored_path)
    assert kept.read_text() == CSV  # where the worker reads it
    assert not Event.objects.exists()

    tasks.run_import(run.pk)  # as the worker does (its processing request is not sent)
    run.refresh_from_db()
    assert (run.status, run.read, run.stored, run.invalid) == ("succeeded", 2, 1, 1)
    assert run.bytes_read == len(CSV)
    assert not kept.exists()  # the upload goes with its run

    detail = staff.get(reverse("admin:imports_importrun_change", args=[run.pk]))
    text = detail.content.decode()
    assert "line 3: email: " in text
    assert '<progress max="100" value="100"></progress>' in text
    assert "Refresh" not in detail  # finished: the page stays still


def test_a_running_import_shows_its_progress_and_reloads(staff, workspace):
    run = ImportRun.objects.create(
        workspace=workspace.workspace,
        importer_id="csv_customers",
        status=ImportRun.RUNNING,
        file_name="big.csv",
        file_size=4000,
        bytes_read=1000,
        read=250,
    )

    listing = staff.get(reverse("admin:imports_importrun_changelist"))
    detail = staff.get(reverse("admin:imports_importrun_change", args=[run.pk]))

    for page in (listing, detail):
        assert '<progress max="100" value="25"></progress> 25%' in page.content.decode()
        assert page["Refresh"] == "3"


def test_an_all_or_nothing_upload_with_a_bad_row_stores_nothing(
    staff, workspace, imports, django_capture_on_commit_callbacks
):
    config = configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})

    with django_capture_on_commit_callbacks(execute=True):
        page = upload(staff, config, CSV, mode="all_or_nothing").content.decode()

    assert "read 2, invalid 1: nothing stored, as all or nothing was asked" in page
    assert "line 3: email: " in page
    assert ImportRun.objects.get().status == "failed"
    assert not Event.objects.exists()


def test_a_refused_upload_names_the_reason_and_queues_nothing(staff, workspace, imports):
    config = configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})

    page = upload(staff, config, '<?xml version="1.0"?><rows/>').content.decode()

    assert "file: XML or HTML, not CSV; save it as CSV UTF-8" in page
    assert not ImportRun.objects.exists()


def test_without_the_import_permission_there_is_no_upload_and_no_run(
    make_operator, workspace, imports
):
    config = configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})
    viewer = make_operator("vic", workspace.workspace, permissions=PERMISSIONS[:-1])
    change = reverse("admin:plugins_pluginconfig_change", args=[config.pk])

    assert 'name="import_file"' not in viewer.get(change).content.decode()
    listing = viewer.get(reverse("admin:plugins_pluginconfig_changelist")).content.decode()
    assert "run_import_now" not in listing
    assert upload(viewer, config, CSV).status_code == 403
    ran = viewer.post(
        reverse("admin:plugins_pluginconfig_changelist"),
        {"action": "run_import_now", "_selected_action": [config.pk]},
    )
    assert ran.status_code == 200  # the list again, with "No action selected"
    assert not ImportRun.objects.exists()
    assert not Event.objects.exists()
