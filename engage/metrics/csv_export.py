"""A metric's rows as CSV, safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return would be read as a formula by Excel, LibreOffice and Google Sheets
(CSV injection: a customer-supplied campaign source or journey name is
data, never a formula), so such text gets a leading ``'``. Numbers are
written as they are: a negative number is not text.

A list in a row (a cohort's ``active`` counts) becomes one column per item,
``active_0``, ``active_1``, ...
"""

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _flat(row: dict) -> dict:
    flat = {}
    for name, value in row.items():
        if isinstance(value, list):
            flat.update({f"{name}_{i}": item for i, item in enumerate(value)})
        else:
            flat[name] = value
    return flat


def to_csv(rows: list[dict]) -> str:
    flat = [_flat(row) for row in rows]
    columns: dict[str, None] = {}
    for row in flat:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([escape(name) for name in columns])
    for row in flat:
        writer.writerow([escape(row.get(name, "")) for name in columns])
    return out.getvalue()
