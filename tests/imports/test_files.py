"""Files an import refuses, and the two ways of handling bad rows."""

import gzip
import io
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engage.events.models import Event
from engage.imports.models import ImportRun
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity
from tests.imports.test_checkpoints import PagedPlugin

pytestmark = pytest.mark.django_db

GOOD = "user_id,email,plan\nu-1,ada@example.com,gold\nu-2,grace@example.com,free\n"
ONE_BAD = GOOD + "u-3,not-an-email,free\nu-4,,=1+1\n"


@pytest.fixture
def csv_customers(workspace):
    configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})


def run(tmp_path, content: bytes, *options) -> str:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    out = StringIO()
    call_command(
        "import_source",
        "csv_customers",
        "--workspace",
        "acme",
        "--file",
        str(path),
        *options,
        stdout=out,
    )
    return out.getvalue()


def xlsx() -> bytes:
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return book.getvalue()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (lambda: gzip.compress(GOOD.encode() * 1000), "file: gzip-compressed (compressed files"),
        (xlsx, "file: a ZIP archive or an XLSX workbook (which is one), not CSV"),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "file: an Excel XLS workbook"),
        (lambda: b'\xef\xbb\xbf  <?xml version="1.0"?><a/>', "file: XML or HTML, not CSV"),
    ],
    ids=["gzip", "xlsx", "xls", "xml"],
)
def test_a_file_that_is_not_csv_is_refused_by_name(csv_customers, tmp_path, content, reason):
    with pytest.raises(CommandError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        run(tmp_path, content())
    assert not Event.objects.exists()
    assert not ImportRun.objects.exists()  # refused before it was queued


def test_a_file_over_the_limit_is_refused(csv_customers, tmp_path, settings):
    settings.ENGAGE_IMPORT_MAX_BYTES = 40
    with pytest.raises(CommandError, match=r"file: 71 bytes is more than the 40 an import may"):
        run(tmp_path, GOOD.encode())
    assert not Event.objects.exists()


def test_apply_valid_stores_good_rows_and_reports_bad_ones_by_line_and_column(
    csv_customers, tmp_path, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out = run(tmp_path, ONE_BAD.encode())
    assert "read 4, stored 3, duplicates 0, invalid 1" in out
    assert "line 4: email: " in out
    run_row = ImportRun.objects.get()
    assert (run_row.status, run_row.read, run_row.stored, run_row.invalid) == ("succeeded", 4, 3, 1)
    assert run_row.bytes_read == run_row.file_size == len(ONE_BAD)
    assert run_row.errors[0]["where"] == "line 4" and run_row.errors[0]["field"] == "email"
    # A formula is text to engage: stored as typed, never evaluated.
    formula = Event.objects.get(user_id="u-4")
    assert formula.traits["plan"] == "=1+1"


def test_all_or_nothing_stores_nothing_when_a_row_is_bad(csv_customers, tmp_path):
    with pytest.raises(CommandError, match="nothing stored: 1 bad row, and all or nothing"):
        run(tmp_path, ONE_BAD.replace("u-4,,=1+1\n", "").encode(), "--mode", "all_or_nothing")
    assert not Event.objects.exists()
    assert not Identity.objects.exists()
    run_row = ImportRun.objects.get()
    assert (run_row.status, run_row.read, run_row.stored, run_row.invalid) == ("failed", 3, 0, 1)
    assert run_row.errors[0]["where"] == "line 4"


def test_all_or_nothing_stores_everything_when_every_row_is_good(
    csv_customers, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out = run(tmp_path, GOOD.encode(), "--mode", "all_or_nothing")
    assert "read 2, stored 2, duplicates 0, invalid 0" in out
    assert Identity.objects.filter(kind="email").count() == 2


def test_a_paged_source_cannot_be_all_or_nothing(workspace, register_plugin):
    register_plugin(PagedPlugin(), "test-paged")
    configure_plugin(workspace=workspace.workspace, plugin_id="test_paged", settings={})
    with pytest.raises(CommandError, match="mode: all_or_nothing needs a file"):
        call_command(
            "import_source", "test_paged", "--workspace", "acme", "--mode", "all_or_nothing"
        )


def test_apply_valid_fails_when_the_rest_of_the_file_cannot_be_read(
    csv_customers, tmp_path, django_capture_on_commit_callbacks
):
    # Past the first decoding block (8 KB), as in a long file saved in Latin-1.
    good = "".join(f"u-{i},ada{i}@example.com,gold\n" for i in range(400))
    content = ("user_id,email,plan\n" + good).encode() + "u-x,,caf\xe9\n".encode("latin-1")

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError, match=r"the rows after line \d+ were not read"),
    ):
        run(tmp_path, content)

    run_row = ImportRun.objects.get()
    assert run_row.status == "failed"
    assert run_row.errors[-1]["reason"] == "not UTF-8 text; save it as CSV UTF-8"
    assert 0 < run_row.stored == Event.objects.count() <= 400
