"""A catalog file (CSV) read into the catalog as it streams.

The header names the columns: ``product_id`` and any of ``title, url,
image, price, currency, category, in_stock``; an empty cell keeps the
product's stored value. Rows are cleaned one at a time and upserted a
thousand at a time, so a file of any length costs the memory of a chunk.
Each bad row is reported by line and column and not stored; in
``all_or_nothing`` mode a single bad row stores nothing at all (the file is
applied in one transaction that is rolled back).

django-import-export's import reads the whole file into a dataset and
reports by row number in its own page; a catalog file can be a million rows,
and the operator needs the line and column to fix, so the catalog reads
files here (export does use django-import-export: ``resources``).
"""

from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import transaction

from engage.events.importing import ALL_OR_NOTHING, APPLY_VALID, MODES
from engage.imports.csvfile import csv_rows
from engage.plugins.base import ImportProblem
from engage.workspaces.models import Workspace

from .services import upsert_products
from .validation import FIELDS, clean_product

COLUMNS = ("product_id", *FIELDS)
CHUNK = 1000
#: problems kept to show; more are counted, not listed
MAX_PROBLEMS = 1000


@dataclass
class CatalogImport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    bad_rows: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    applied: bool = True


class _RolledBack(Exception):
    pass


def _check_columns(columns: list[str]) -> ImportProblem | None:
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


def import_products_csv(
    *, workspace: Workspace, file: BinaryIO, mode: str = APPLY_VALID
) -> CatalogImport:
    """Read ``file`` into the workspace's catalog; what was stored and each problem."""
    if mode not in MODES:
        raise ValueError(f"mode: must be {' or '.join(MODES)}, not {mode!r}")
    result = CatalogImport()
    try:
        with transaction.atomic():
            _read(workspace, file, mode, result)
    except _RolledBack:
        result.created = result.updated = 0
        result.applied = False
    return result


def _read(workspace: Workspace, file: BinaryIO, mode: str, result: CatalogImport) -> None:
    chunk: list[dict] = []

    def flush():
        if chunk and not (mode == ALL_OR_NOTHING and result.problems):
            stored = upsert_products(workspace=workspace, products=chunk)
            result.created += stored.created
            result.updated += stored.updated
        chunk.clear()

    def problem(found: ImportProblem):
        if len(result.problems) < MAX_PROBLEMS:
            result.problems.append(found)

    for item in csv_rows(file, check_columns=_check_columns):
        if isinstance(item, ImportProblem):
            problem(item)
            result.bad_rows += 1
            continue
        line, row = item
        result.rows += 1
        cleaned, errors = clean_product(row)
        if errors:
            result.bad_rows += 1
            for column, reason in errors.items():
                problem(ImportProblem(f"line {line}", column, reason))
            continue
        chunk.append(cleaned)
        if len(chunk) >= CHUNK:
            flush()
    flush()
    if mode == ALL_OR_NOTHING and result.bad_rows:
        raise _RolledBack
