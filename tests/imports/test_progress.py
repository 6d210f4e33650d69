"""``import_source`` follows a file's import with a progress bar on a
terminal, and with plain lines elsewhere (a log, a pipe)."""

from io import StringIO

import pytest
from django.core.management import call_command

from engage.plugins.services import configure_plugin

pytestmark = pytest.mark.django_db

CSV = "user_id,email\n" + "".join(f"u-{i},c{i}@example.com\n" for i in range(6))


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream", [Terminal, StringIO], ids=["terminal", "pipe"])
def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere(workspace, tmp_path, stream):
    configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})
    path = tmp_path / "customers.csv"
    path.write_text(CSV)
    out = stream()

    call_command(
        "import_source",
        "csv_customers",
        "--workspace",
        "acme",
        "--file",
        str(path),
        "--batch-size",
        "3",
        stdout=out,
    )

    text = out.getvalue()
    if stream is Terminal:
        assert "\r  [" in text and "] 100%  6 read, 6 stored" in text
    else:
        assert "\r" not in text and "[" not in text
        assert text.splitlines()[:2] == ["  3 read, 3 stored", "  6 read, 6 stored"]
    assert "read 6, stored 6, duplicates 0, invalid 0" in text
