"""A catalog file: good rows stored, each bad row named by line and column,
and all or nothing when the operator asks for it."""

import io
from decimal import Decimal

import pytest

from engage.catalog.csv_import import import_products_csv
from engage.catalog.models import Product

pytestmark = pytest.mark.django_db

FILE = """product_id,title,price,category,in_stock
A,Runner,59.90,shoes,true
,No id,10,shoes,true
B,Sock,cheap,socks,yes
C,Cap,12,hats,maybe
D,Scarf,=1+2,winter,no
E,Boot,80,shoes,false
"""


def run(workspace, text: str, mode: str = "apply_valid"):
    return import_products_csv(
        workspace=workspace.workspace, file=io.BytesIO(text.encode()), mode=mode
    )


def problems(result) -> list[tuple[str, str]]:
    return [(p.where, p.field) for p in result.problems]


def test_good_rows_are_stored_and_each_bad_row_is_named(workspace):
    result = run(workspace, FILE)

    assert problems(result) == [
        ("line 3", "product_id"),
        ("line 4", "price"),
        ("line 5", "in_stock"),
        ("line 6", "price"),
    ]
    assert "required" in result.problems[0].reason
    assert (result.rows, result.created, result.bad_rows) == (6, 2, 4)
    stored = {p.product_id: (p.price, p.in_stock) for p in Product.objects.all()}
    assert stored == {"A": (Decimal("59.900"), True), "E": (Decimal("80.000"), False)}


def test_all_or_nothing_stores_nothing_when_a_row_is_bad(workspace):
    run(workspace, "product_id,title\nA,Before\n")

    result = run(workspace, FILE, mode="all_or_nothing")

    assert not result.applied and result.created == 0
    assert len(result.problems) == 4
    assert {p.product_id: p.title for p in Product.objects.all()} == {"A": "Before"}


def test_a_second_file_updates_only_the_cells_it_fills(workspace):
    run(workspace, FILE)
    result = run(workspace, "product_id,title,in_stock\nA,,false\nF,Glove,\n")

    assert (result.created, result.updated) == (1, 1)
    runner = Product.objects.get(product_id="A")
    assert (runner.title, runner.in_stock, runner.category) == ("Runner", False, "shoes")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("title,price\nRunner,10\n", "product_id"),
        ("product_id,prise\nA,10\n", "prise"),
    ],
    ids=["no-id-column", "unknown-column"],
)
def test_a_wrong_header_is_one_problem_and_stores_nothing(workspace, text, field):
    result = run(workspace, text)
    assert problems(result) == [("line 1", field)]
    assert not Product.objects.exists()


def test_a_file_that_is_not_utf8_is_named(workspace):
    result = run(workspace, "product_id,title\nA,Runner\n".replace("Runner", "Caf\xe9"))
    assert result.created == 1
    latin = import_products_csv(
        workspace=workspace.workspace,
        file=io.BytesIO("product_id,title\nB,Caf\xe9\n".encode("latin-1")),
    )
    assert [p.field for p in latin.problems] == ["file"]
    assert "UTF-8" in latin.problems[0].reason
