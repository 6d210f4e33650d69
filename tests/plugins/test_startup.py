"""A plugin that cannot load stops every process at start-up, naming it."""

from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from engage.plugins import Channel, hookimpl, manager
from tests.live_processes import run_embedded

BROKEN = "engage_broken_plugin"


@pytest.fixture
def broken_plugin(tmp_path):
    """An installed distribution whose ``engage.plugins`` entry point fails
    to import, as a plugin with a missing dependency does."""
    dist = tmp_path / "engage_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: engage-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[engage.plugins]\nbroken = {BROKEN}\n")
    (tmp_path / f"{BROKEN}.py").write_text("import a_dependency_nobody_installed\n")
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [["manage.py", "check"], ["-c", "from config.wsgi import application"]],
    ids=["manage.py check", "the WSGI app"],
)
def test_a_plugin_that_cannot_load_stops_the_process_naming_it(broken_plugin, args):
    result = run_embedded(args, broken_plugin / "db.sqlite3", PYTHONPATH=str(broken_plugin))

    assert result.returncode != 0
    assert (
        f"ImproperlyConfigured: plugin 'broken' ({BROKEN}) cannot be loaded: "
        "No module named 'a_dependency_nobody_installed'"
    ) in result.stderr


def test_manage_py_check_passes_with_the_installed_plugins(tmp_path):
    result = run_embedded(["manage.py", "check"], tmp_path / "db.sqlite3")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


class Clash:
    @hookimpl
    def engage_channels(self):
        return [AnotherEmail]


class AnotherEmail(Channel):
    id = "email"
    name = "Another email"


def test_manage_py_check_reports_a_registry_problem(register_plugin):
    register_plugin(Clash(), "test-clash")

    with pytest.raises(SystemCheckError) as failed:
        call_command("check", stdout=StringIO())

    assert (
        "engage.plugins.E001) channel id 'email' is provided by both 'email' and 'test-clash'"
    ) in str(failed.value)


def test_a_built_in_module_without_its_entry_point_stops_the_start(tmp_path, monkeypatch):
    """A module added to plugins/ but not to pyproject.toml's entry points (or an
    install older than the checkout) is named, not silently left out."""
    package = tmp_path / "shipped_plugins"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "forgotten.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(manager, "BUILT_IN_PACKAGE", "shipped_plugins")

    with pytest.raises(ImproperlyConfigured, match=r"built-in plugin shipped_plugins\.forgotten"):
        manager.get_plugin_manager.__wrapped__()  # a fresh manager, not the process's
