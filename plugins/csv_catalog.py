"""Products from a CSV file, into the workspace's catalog.

The header names the columns: ``product_id`` and any of ``title, url,
image, price, currency, category, in_stock``; an empty cell keeps the
product's stored value. Each row is checked as the catalog API checks a
product (``engage.catalog.validation``); a bad row is reported by line and
column and not stored, and a product with any bad cell is not stored at all
(a half product would show a wrong price in a message).

It runs as an import run like the other CSV importers (the catalog admin's
upload starts one, ``import_source csv_catalog --file`` too), but writes
products, not events: a ``DirectImporter`` (``engage.events.importing``
says why).

django-import-export's import reads the whole file into a dataset and
reports by row number in its own page; a catalog file can be a million
rows, and the operator needs the line and column to fix, so the catalog is
read here (its export does use django-import-export:
``engage.catalog.resources``).
"""

from engage.catalog.services import upsert_products
from engage.catalog.validation import FIELDS, clean_product
from engage.events.importing import DirectImporter, path_setting_problems
from engage.imports.csvfile import csv_rows
from engage.plugins import hookimpl
from engage.plugins.base import ImportProblem, SettingField

COLUMNS = ("product_id", *FIELDS)


class CsvCatalog(DirectImporter):
    id = "csv_catalog"
    name = "CSV catalog"
    reads_file = True
    settings_schema = (
        SettingField(
            "path",
            help="A CSV file in this workspace's import directory on the server, e.g. "
            "products.csv; or leave it blank and upload the file in the catalog.",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        return path_setting_problems(settings)

    def read(self, *, workspace):
        for item in csv_rows(self.file, check_columns=_columns_problem):
            if isinstance(item, ImportProblem):
                yield item
                continue
            line, row = item
            product, errors = clean_product(row)
            yield _row_problem(line, errors) if errors else product

    def store(self, rows: list) -> int:
        upserted = upsert_products(workspace=self.workspace, products=rows)
        return upserted.created + upserted.updated


def _columns_problem(columns: list[str]) -> ImportProblem | None:
    unknown = [name for name in columns if name and name not in COLUMNS]
    if unknown:
        return ImportProblem(
            "line 1", unknown[0], f"unknown column; the columns are {', '.join(COLUMNS)}"
        )
    if "product_id" not in columns:
        return ImportProblem(
            "line 1", "product_id", "no product_id column: every product needs its id"
        )
    return None


def _row_problem(line: int, errors: dict[str, str]) -> ImportProblem:
    """The row's first bad column, and the others after its reason: a row is
    one problem, counted once."""
    (column, reason), *others = errors.items()
    if others:
        reason += "; also " + "; ".join(f"{name}: {why}" for name, why in others)
    return ImportProblem(f"line {line}", column, reason)


@hookimpl
def engage_importers():
    return [CsvCatalog]
