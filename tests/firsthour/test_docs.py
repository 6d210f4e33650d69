"""What the README and the docs tell a newcomer to type or set is real.

Read from the files as a person would read them: every command copy-pastes on
a fresh clone, and every setting named there is one engage reads.
"""

import importlib
import re
from pathlib import Path

import pytest
from django.core.management import get_commands

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SETTINGS = [ROOT / "config" / "settings.py", ROOT / "config" / "settings_production.py"]
# Entry-point groups plugins register in (pyproject.toml), not modules.
ENTRY_POINT_GROUPS = {"engage.apps", "engage.plugins"}
# env("NAME"...), env.bool("NAME"...), env.list("NAME"...), env.db("NAME"...)
ENV_CALL = re.compile(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']")


def environment_settings() -> set[str]:
    return {name for path in SETTINGS for name in ENV_CALL.findall(path.read_text())}


def configuration_table() -> set[str]:
    """The variables in the first column of the README's configuration table."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}


def test_the_settings_are_found_in_the_settings_files():
    # The parser below is what the table is compared with: it must see them.
    assert {"DATABASE_URL", "SECURE_SSL_REDIRECT", "ENGAGE_PUBLIC_URL"} <= environment_settings()


def test_the_readme_lists_every_setting_read_from_the_environment():
    assert sorted(environment_settings() - configuration_table()) == []


def test_every_setting_in_the_readme_table_is_read_from_the_environment():
    assert sorted(configuration_table() - environment_settings()) == []


def test_every_engage_setting_the_docs_name_exists():
    named = {
        (path.name, name)
        for path in [*DOCS, *(ROOT / "plugins").glob("*.py")]
        for name in re.findall(r"\bENGAGE_[A-Z0-9_]+\b", path.read_text())
    }
    real = environment_settings()
    assert sorted((doc, name) for doc, name in named if name not in real) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_manage_commands_copy_paste_on_a_fresh_clone(doc):
    # A bare `python manage.py` (or celery, gunicorn) fails before .venv is on
    # PATH: scripts/manage creates it when missing and runs manage.py with its
    # Python; the others run as .venv/bin/celery and .venv/bin/gunicorn.
    bare = [
        f"{doc.name}:{number}: {line.strip()}"
        for number, line in enumerate(doc.read_text().splitlines(), start=1)
        if re.search(r"(?<![/\w])(python3? manage\.py|celery -A|gunicorn config)", line)
    ]
    assert bare == []


def test_every_command_the_docs_give_exists():
    named = {
        (path.name, command)
        for path in DOCS
        for command in re.findall(r"scripts/manage ([a-z_]+)", path.read_text())
    }
    assert sorted((doc, command) for doc, command in named if command not in get_commands()) == []


def _resolves(reference: str) -> bool:
    """Whether ``reference`` (``engage.segments.services.save_segment``) names
    a module, or an attribute reached from the longest importable module."""
    parts = reference.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                found = getattr(found, name)
        except AttributeError:
            return False
        return True
    return False


def test_every_module_function_and_task_the_docs_name_exists():
    celery_app.loader.import_default_modules()
    named = {
        (path.name, reference.rstrip("."))
        for path in DOCS
        for reference in re.findall(r"`((?:engage|plugins)\.[A-Za-z_][\w.]*)", path.read_text())
    }
    missing = [
        (doc, reference)
        for doc, reference in named
        if not _resolves(reference)
        and reference not in celery_app.tasks
        and reference not in ENTRY_POINT_GROUPS
        and not re.search(r"\.[EW]\d{3}$", reference)  # a system check's id
    ]
    assert sorted(missing) == []
