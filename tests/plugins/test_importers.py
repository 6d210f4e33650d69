from io import BytesIO, StringIO

import pytest
from django.core.management import CommandError, call_command

from engage.events.importing import ImportNotPossible, run_import
from engage.events.models import Event
from engage.plugins import hookimpl
from engage.plugins.base import Importer
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile

pytestmark = pytest.mark.django_db

CSV = (
    "\ufeffuser_id,email,phone,external_id,first_name,last_name,plan\n"
    "u-1, Ada@Example.com ,+442079460958,crm-1,Ada,Lovelace,gold\n"
    ",grace@example.com,,crm-2,Grace,Hopper,\n"
    "u-3,not-an-email,,,Bad,Email,free\n"
    "\n"
    ",,,,No,Identifier,free\n"
)


@pytest.fixture
def imports(settings, tmp_path):
    """The import directory; ``imports / str(workspace.pk)`` is a workspace's."""
    settings.ENGAGE_IMPORT_DIR = str(tmp_path / "imports")
    return tmp_path / "imports"


@pytest.fixture
def customers_csv(imports, workspace):
    """customers.csv in the import directory of "acme"; the ``path`` setting."""
    folder = imports / str(workspace.workspace.pk)
    folder.mkdir(parents=True)
    (folder / "customers.csv").write_text(CSV, encoding="utf-8")
    return "customers.csv"


def run(workspace, plugin_id="csv_customers", capture=None):
    out = StringIO()
    with capture(execute=True):
        call_command("import_source", plugin_id, "--workspace", workspace.name, stdout=out)
    return out.getvalue()


def profile_of(workspace, kind, value):
    identity = Identity.objects.filter(workspace=workspace, kind=kind, value=value).first()
    assert identity is not None, f"no {kind}={value} in {workspace.name}"
    return Profile.objects.get(pk=identity.profile_id)


def test_csv_rows_become_profiles_and_bad_rows_are_reported(
    workspace, other_workspace, customers_csv, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    configure_plugin(
        workspace=ws,
        plugin_id="csv_customers",
        settings={"path": customers_csv, "source": "crm"},
    )

    output = run(ws, capture=django_capture_on_commit_callbacks)

    assert "read 4, stored 2, duplicates 0, invalid 2" in output
    assert "line 4: email: not a valid email address" in output
    assert "line 6: user_id,email,phone,external_id: no identifier" in output

    ada = profile_of(ws, Identity.USER_ID, "u-1")
    identities = set(ada.identities.values_list("kind", "value"))
    assert {
        ("user_id", "u-1"),
        ("email", "ada@example.com"),
        ("phone", "+442079460958"),
        ("crm", "crm-1"),
    } <= identities
    assert ada.traits["first_name"] == "Ada"
    assert ada.traits["plan"] == "gold"
    grace = profile_of(ws, "crm", "crm-2")
    assert grace.traits["last_name"] == "Hopper"
    assert "plan" not in grace.traits  # an empty cell sets nothing
    assert not Identity.objects.filter(workspace=ws, value="u-3").exists()
    assert not Identity.objects.filter(workspace=other_workspace.workspace).exists()

    again = run(ws, capture=django_capture_on_commit_callbacks)
    assert "read 4, stored 0, duplicates 2, invalid 2" in again
    assert Event.objects.filter(workspace=ws).count() == 2


def test_an_importer_that_is_not_enabled_is_refused(workspace, other_workspace, customers_csv):
    configure_plugin(
        workspace=other_workspace.workspace,
        plugin_id="csv_customers",
        settings={"path": customers_csv},
    )
    with pytest.raises(CommandError, match="'csv_customers' is not enabled for workspace 'acme'"):
        call_command("import_source", "csv_customers", "--workspace", "acme", stdout=StringIO())
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="csv_customers",
        settings={"path": customers_csv},
        enabled=False,
    )
    with pytest.raises(ImportNotPossible, match="not enabled"):
        run_import(workspace=workspace.workspace, plugin_id="csv_customers")
    assert not Event.objects.exists()


def test_unknown_plugin_workspace_and_missing_file_are_clear_errors(workspace, imports):
    with pytest.raises(CommandError, match=r"unknown plugin 'nope'; installed: .*csv_customers"):
        call_command("import_source", "nope", "--workspace", "acme", stdout=StringIO())
    with pytest.raises(CommandError, match="is not an importer"):
        call_command("import_source", "email", "--workspace", "acme", stdout=StringIO())
    with pytest.raises(CommandError, match="no workspace with id, name or slug 'ghost'"):
        call_command("import_source", "csv_customers", "--workspace", "ghost", stdout=StringIO())
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="csv_customers",
        settings={"path": "missing.csv"},
    )
    with pytest.raises(
        CommandError, match=r"path: no file 'missing\.csv' in the workspace's import directory"
    ):
        call_command("import_source", "csv_customers", "--workspace", "acme", stdout=StringIO())


def test_stored_settings_that_no_longer_validate_are_refused(workspace):
    config = configure_plugin(
        workspace=workspace.workspace, plugin_id="csv_customers", settings={"path": "x.csv"}
    )
    config.settings = {"path": "/etc/passwd"}  # as an older version let staff store it
    config.save()
    with pytest.raises(CommandError, match="invalid settings: path: must be relative"):
        call_command("import_source", "csv_customers", "--workspace", "acme", stdout=StringIO())


class TicketsImporter(Importer):
    """A third-party-style importer: two good calls around three bad ones."""

    id = "test_tickets"
    name = "Test tickets"

    def read(self, *, workspace):
        yield {"type": "track", "userId": "t-1", "event": "Ticket Opened", "messageId": "tk-1"}
        yield {"type": "track", "userId": "t-1"}
        yield {"type": "identify", "userId": "t-2", "timestamp": "yesterday"}
        yield ["not", "an", "object"]
        yield {"type": "track", "userId": "t-2", "event": "Ticket Closed"}


class TicketsPlugin:
    @hookimpl
    def engage_importers(self):
        return [TicketsImporter]


@pytest.fixture
def tickets_plugin(register_plugin):
    register_plugin(TicketsPlugin(), "test-tickets")


def test_a_plugin_importer_reports_invalid_calls_by_index_and_field(
    tickets_plugin, workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    configure_plugin(workspace=ws, plugin_id="test_tickets", settings={})
    with django_capture_on_commit_callbacks(execute=True):
        report = run_import(workspace=ws, plugin_id="test_tickets", batch_size=2)

    assert (report.read, report.stored, report.duplicates, report.invalid) == (5, 2, 0, 3)
    assert [(e["index"], e["field"]) for e in report.errors] == [
        (1, "event"),
        (2, "timestamp"),
        (3, "body"),
    ]
    assert "'yesterday' is not an ISO-8601 date-time" in report.errors[1]["reason"]
    assert set(Event.objects.filter(workspace=ws).values_list("name", flat=True)) == {
        "Ticket Opened",
        "Ticket Closed",
    }
    assert profile_of(ws, Identity.USER_ID, "t-2")  # processed

    again = run_import(workspace=ws, plugin_id="test_tickets")
    assert (again.stored, again.duplicates) == (0, 2)  # no messageId: derived, stable


def test_an_operator_runs_an_importer_from_the_admin(
    admin_client, workspace, customers_csv, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    config = configure_plugin(
        workspace=ws, plugin_id="csv_customers", settings={"path": customers_csv}
    )

    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(
            "/admin/plugins/pluginconfig/",
            {"action": "run_import_now", "_selected_action": [config.pk]},
            follow=True,
        )

    text = page.content.decode()
    assert "read 4, stored 2, duplicates 0, invalid 2" in text
    assert "line 4: email: not a valid email address" in text
    assert profile_of(ws, "email", "grace@example.com").traits["first_name"] == "Grace"


def test_the_admin_says_why_an_importer_cannot_run(admin_client, workspace, imports):
    config = configure_plugin(
        workspace=workspace.workspace,
        plugin_id="csv_customers",
        settings={"path": "gone.csv"},
    )

    page = admin_client.post(
        "/admin/plugins/pluginconfig/",
        {"action": "run_import_now", "_selected_action": [config.pk]},
        follow=True,
    )

    assert "gone.csv" in page.content.decode()
    assert not Event.objects.exists()


def test_the_servers_operator_imports_any_file_they_name(
    workspace, tmp_path, django_capture_on_commit_callbacks
):
    """``--file`` is for whoever runs management commands, who has the server anyway."""
    configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})
    elsewhere = tmp_path / "export.csv"
    elsewhere.write_text(CSV, encoding="utf-8")
    command = ["import_source", "csv_customers", "--workspace", "acme", "--file"]

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(*command, str(elsewhere), stdout=out)

    assert "read 4, stored 2, duplicates 0, invalid 2" in out.getvalue()
    assert profile_of(workspace.workspace, "email", "grace@example.com")
    with pytest.raises(CommandError, match="--file: cannot be read"):
        call_command(*command, str(tmp_path / "none.csv"), stdout=StringIO())


def test_without_a_file_or_a_path_the_importer_says_where_files_come_from(workspace):
    configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})
    with pytest.raises(ImportNotPossible, match="path: not set; upload the file in the admin"):
        run_import(workspace=workspace.workspace, plugin_id="csv_customers")


def test_an_importer_that_reads_no_files_refuses_one(tickets_plugin, workspace, tmp_path):
    configure_plugin(workspace=workspace.workspace, plugin_id="test_tickets", settings={})
    with pytest.raises(ImportNotPossible, match="'test_tickets' does not read files"):
        run_import(
            workspace=workspace.workspace, plugin_id="test_tickets", file=BytesIO(b"user_id\n")
        )
