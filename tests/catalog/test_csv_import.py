"""A catalog file imported as an import run (``csv_catalog``): good rows
stored, each bad row named by line and column, all or nothing when the
operator asks for it, and the files every import refuses refused here too."""

import gzip
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engage.catalog.models import Product
from engage.events.models import Event
from engage.imports.models import ImportRun
from engage.plugins.services import configure_plugin

pytestmark = pytest.mark.django_db

FILE = """product_id,title,price,category,in_stock
A,Runner,59.90,shoes,true
,No id,10,shoes,true
B,Sock,cheap,socks,yes
C,Cap,12,hats,maybe
D,Scarf,=1+2,winter,no
E,Boot,80,shoes,false
"""


@pytest.fixture(autouse=True)
def csv_catalog(workspace):
    configure_plugin(workspace=workspace.workspace, plugin_id="csv_catalog", settings={})


def run(tmp_path, content: str | bytes, mode: str = "apply_valid") -> str:
    path = tmp_path / "products.csv"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    out = StringIO()
    call_command(
        "import_source",
        "csv_catalog",
        "--workspace",
        "acme",
        "--file",
        str(path),
        "--mode",
        mode,
        stdout=out,
    )
    return out.getvalue()


def problems(run_row: ImportRun) -> list[tuple[str, str]]:
    return [(error["where"], error["field"]) for error in run_row.errors]


def test_good_rows_are_stored_and_each_bad_row_is_named(tmp_path):
    out = run(tmp_path, FILE)

    assert "read 6, stored 2, duplicates 0, invalid 4" in out
    assert "line 3: product_id: required" in out
    run_row = ImportRun.objects.get()
    assert run_row.status == "succeeded"
    assert problems(run_row) == [
        ("line 3", "product_id"),
        ("line 4", "price"),
        ("line 5", "in_stock"),
        ("line 6", "price"),
    ]
    stored = {p.product_id: (p.price, p.in_stock) for p in Product.objects.all()}
    assert stored == {"A": (Decimal("59.900"), True), "E": (Decimal("80.000"), False)}
    assert not Event.objects.exists()  # products, not events


def test_a_row_with_several_bad_cells_is_one_problem_naming_each(tmp_path):
    out = run(tmp_path, "product_id,price,in_stock\nA,cheap,maybe\n")

    assert "read 1, stored 0, duplicates 0, invalid 1" in out
    [error] = ImportRun.objects.get().errors
    assert (error["where"], error["field"]) == ("line 2", "price")
    assert "; also in_stock: " in error["reason"]


def test_all_or_nothing_stores_nothing_when_a_row_is_bad(tmp_path):
    run(tmp_path, "product_id,title\nA,Before\n")

    with pytest.raises(CommandError, match="nothing stored: 4 bad rows, and all or nothing"):
        run(tmp_path, FILE, mode="all_or_nothing")

    assert {p.product_id: p.title for p in Product.objects.all()} == {"A": "Before"}
    assert len(ImportRun.objects.filter(status="failed").get().errors) == 4


def test_a_second_file_updates_only_the_cells_it_fills(tmp_path):
    run(tmp_path, FILE)
    out = run(tmp_path, "product_id,title,in_stock\nA,,false\nF,Glove,\n", mode="all_or_nothing")

    assert "read 2, stored 2, duplicates 0, invalid 0" in out
    runner = Product.objects.get(product_id="A")
    assert (runner.title, runner.in_stock, runner.category) == ("Runner", False, "shoes")
    assert Product.objects.get(product_id="F").title == "Glove"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("title,price\nRunner,10\n", "product_id"),
        ("product_id,prise\nA,10\n", "prise"),
    ],
    ids=["no-id-column", "unknown-column"],
)
def test_a_wrong_header_is_one_problem_and_stores_nothing(tmp_path, text, field):
    run(tmp_path, text)
    assert problems(ImportRun.objects.get()) == [("line 1", field)]
    assert not Product.objects.exists()


def test_a_file_that_stops_being_utf8_fails_the_run(tmp_path):
    content = b"product_id,title\nA,Runner\n" + "B,Caf\xe9\n".encode("latin-1")

    with pytest.raises(CommandError, match="were not read"):
        run(tmp_path, content)

    run_row = ImportRun.objects.get()
    assert run_row.status == "failed"
    assert run_row.errors[-1]["field"] == "file"
    assert "UTF-8" in run_row.errors[-1]["reason"]


def test_a_compressed_file_is_refused_before_a_run(tmp_path):
    with pytest.raises(CommandError, match=r"file: gzip-compressed \(compressed files"):
        run(tmp_path, gzip.compress(FILE.encode() * 100))
    assert not ImportRun.objects.exists()
    assert not Product.objects.exists()


def test_a_file_over_the_limit_is_refused(tmp_path, settings):
    settings.ENGAGE_IMPORT_MAX_BYTES = 40
    with pytest.raises(CommandError, match=r"more than the 40 an import may have"):
        run(tmp_path, FILE)
    assert not Product.objects.exists()
