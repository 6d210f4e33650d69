"""A workspace's staff import customers from their own files, never from the server's.

The CSV importer's file is an upload (imported into the configuration's
workspace, not kept) or a ``path`` inside the workspace's import directory.
Whatever the file holds, an error names the problem and quotes none of it.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from engage.events.models import Event
from engage.plugins.models import PluginConfig
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity

PLUGIN_PERMISSIONS = [
    "plugins.view_pluginconfig",
    "plugins.add_pluginconfig",
    "plugins.change_pluginconfig",
    "imports.import_data",
]
THEIR_CSV = "email,first_name,ssn\nbimport1@globex.example,Bea,123-45-6789\n"
OUR_CSV = "email,first_name\nann@acme.example,Ann\n,Nobody\n"
SECRET_LINE = "DB_PASSWORD=hunter2-server-only"


@pytest.fixture
def imports(settings, tmp_path, workspace, other_workspace):
    """The import directory, with globex's customer file in globex's folder."""
    settings.ENGAGE_IMPORT_DIR = str(tmp_path / "imports")
    for ws in (workspace, other_workspace):
        (tmp_path / "imports" / str(ws.workspace.pk)).mkdir(parents=True)
    theirs = tmp_path / "imports" / str(other_workspace.workspace.pk) / "customers.csv"
    theirs.write_text(THEIR_CSV)
    (tmp_path / ".env").write_text(SECRET_LINE + "\n")
    return tmp_path / "imports"


@pytest.fixture
def staff(make_operator, workspace):
    return make_operator("ann", workspace.workspace, permissions=PLUGIN_PERMISSIONS)


def ours(imports, workspace):
    return imports / str(workspace.workspace.pk)


def run_now(client, config):
    page = client.post(
        reverse("admin:plugins_pluginconfig_changelist"),
        {"action": "run_import_now", "_selected_action": [config.pk]},
        follow=True,
    )
    assert page.status_code == 200
    return page.content.decode()


def assert_nothing_imported():
    assert not Event.objects.exists()
    assert not Identity.objects.filter(value="bimport1@globex.example").exists()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "must be relative to the workspace&#x27;s import directory"),
        ("{theirs}", "must be relative to the workspace&#x27;s import directory"),
        ("../{globex}/customers.csv", "must stay inside the workspace&#x27;s import directory"),
        ("a/../../.env", "must stay inside the workspace&#x27;s import directory"),
    ],
)
def test_a_path_outside_the_workspaces_folder_is_refused_by_the_form(
    staff, workspace, other_workspace, imports, path, reason
):
    globex = other_workspace.workspace.pk
    path = path.format(globex=globex, theirs=imports / str(globex) / "customers.csv")

    page = staff.post(
        reverse("admin:plugins_pluginconfig_add"),
        {
            "workspace": workspace.workspace.pk,
            "plugin_id": "csv_customers",
            "enabled": "on",
            "setting_path": path,
            "setting_source": "csv",
        },
    )

    assert page.status_code == 200
    assert f"path: {reason}" in page.content.decode()
    assert not PluginConfig.objects.exists()


@pytest.mark.parametrize(
    "target",
    ["{globex}/customers.csv", "/etc/passwd", "../.env"],
)
def test_a_link_out_of_the_workspaces_folder_is_refused_when_importing(
    staff, workspace, other_workspace, imports, target
):
    target = target.format(globex=other_workspace.workspace.pk)
    link = ours(imports, workspace) / "customers.csv"
    link.symlink_to(target if target.startswith("/") else imports / target)
    config = configure_plugin(
        workspace=workspace.workspace, plugin_id="csv_customers", settings={"path": "customers.csv"}
    )

    text = run_now(staff, config)

    assert "path: leads out of the workspace&#x27;s import directory" in text
    for content in ("root:", "hunter2", "bimport1", "123-45-6789"):
        assert content not in text
    assert_nothing_imported()


def test_a_file_that_is_not_a_customer_list_is_not_quoted(staff, workspace, imports):
    (ours(imports, workspace) / "settings.env").write_text(SECRET_LINE + "\nOTHER=1\n")
    config = configure_plugin(
        workspace=workspace.workspace, plugin_id="csv_customers", settings={"path": "settings.env"}
    )

    text = run_now(staff, config)

    assert "the file has no user_id, email, phone or external_id column" in text
    assert "hunter2" not in text and "DB_PASSWORD" not in text
    assert_nothing_imported()


def test_a_binary_file_is_a_clear_error_not_a_server_error(staff, workspace, imports):
    (ours(imports, workspace) / "engage.sqlite3").write_bytes(
        b"SQLite format 3\x00\x10\x00\x01\x01\xff\xfe\x80" * 200
    )
    config = configure_plugin(
        workspace=workspace.workspace,
        plugin_id="csv_customers",
        settings={"path": "engage.sqlite3"},
    )

    text = run_now(staff, config)

    assert "file: not UTF-8 text; save it as CSV UTF-8" in text
    assert "SQLite format" not in text
    assert_nothing_imported()


def test_an_upload_is_imported_into_the_uploaders_workspace_only(
    staff, make_operator, workspace, other_workspace, django_capture_on_commit_callbacks
):
    config = configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})
    theirs = configure_plugin(
        workspace=other_workspace.workspace, plugin_id="csv_customers", settings={}
    )
    form = {"enabled": "on", "setting_source": "csv"}

    page = staff.get(reverse("admin:plugins_pluginconfig_change", args=[config.pk]))
    assert 'enctype="multipart/form-data"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = staff.post(
            reverse("admin:plugins_pluginconfig_change", args=[config.pk]),
            {**form, "import_file": SimpleUploadedFile("list.csv", OUR_CSV.encode())},
            follow=True,
        )
        refused = staff.post(
            reverse("admin:plugins_pluginconfig_change", args=[theirs.pk]),
            {**form, "import_file": SimpleUploadedFile("list.csv", THEIR_CSV.encode())},
        )

    text = done.content.decode()
    assert "in acme: read 2, stored 1, duplicates 0, invalid 1" in text
    assert "line 3: user_id,email,phone,external_id: no identifier" in text
    ann = Identity.objects.get(kind="email", value="ann@acme.example")
    assert ann.workspace_id == workspace.workspace.pk
    assert refused.status_code == 302 and refused.url == reverse("admin:index")
    assert not Identity.objects.filter(workspace=other_workspace.workspace).exists()
    assert not Event.objects.filter(workspace=other_workspace.workspace).exists()


def test_an_upload_that_is_too_big_is_refused_naming_the_field(staff, workspace, settings):
    settings.ENGAGE_IMPORT_MAX_BYTES = 1024 * 1024
    config = configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})
    big = ("email\n" + "x@acme.example\n" * 80_000).encode()

    page = staff.post(
        reverse("admin:plugins_pluginconfig_change", args=[config.pk]),
        {"enabled": "on", "import_file": SimpleUploadedFile("big.csv", big)},
    )

    assert page.status_code == 200
    assert "is more than the 1 MB an upload may have" in page.content.decode()
    assert not Event.objects.exists()
