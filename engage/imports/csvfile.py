"""Rows of an uploaded CSV file, streamed, for the CSV importers.

The file is read as it goes (``csv.reader`` over a text wrapper), never
whole, so a million-row file costs the memory of one row. Problems are placed
by line and column name and never quote the file: it may not be the CSV the
operator meant, and its first line could be a secret. A cell is only ever
text here; one that starts with ``=`` is stored as those characters (CSV has
no formulas, engage evaluates nothing), and exports escape it
(``spreadsheet.escape_formula``).
"""

import csv
import io
from collections.abc import Callable, Iterator
from typing import BinaryIO

from engage.events.importing import ReadingStopped
from engage.plugins.base import ImportProblem


def csv_rows(
    file: BinaryIO, *, check_columns: Callable[[list[str]], ImportProblem | None] | None = None
) -> Iterator[tuple[int, dict[str, str]] | ImportProblem]:
    """``(line, row)`` for each non-blank line after the header, ``row``
    holding the non-empty cells (stripped) by column name; or, last, a
    ``ReadingStopped`` where the file stops being UTF-8 CSV text, a cell
    over the csv module's field size limit (128 KB) included: such a cell is
    refused, not kept, so a row costs at most its line's length in memory.

    ``check_columns`` looks at the header: a problem it returns is the only
    one reported (a file that is not this kind of list is one problem, not
    one per line)."""
    # utf-8-sig drops the byte-order mark spreadsheet programs write.
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        columns = [name.strip() for name in next(reader, ())]
        problem = check_columns(columns) if check_columns else None
        if problem:
            yield problem
            return
        for cells in reader:
            row = {}
            for name, cell in zip(columns, cells, strict=False):
                cell = cell.strip()
                if name and cell:
                    row[name] = cell
            if row:
                yield reader.line_num, row
    except UnicodeDecodeError:
        # Decoding goes by blocks: the lines read so far were good, and where
        # the next one starts is lost.
        line = reader.line_num
        yield ReadingStopped(
            f"after line {line}",
            "file",
            "not UTF-8 text; save it as CSV UTF-8",
            unread=f"the rows after line {line}",
        )
    except csv.Error as exc:
        # Not resumed at the next line: a quoted cell may hold line breaks, so
        # the next physical line can be the middle of a cell, read as a row
        # it is not. The csv module's reasons ("field larger than field
        # limit") quote nothing.
        line = reader.line_num
        yield ReadingStopped(
            f"line {line}", "file", f"not a CSV file: {exc}", unread=f"the rows after line {line}"
        )
    finally:
        text.detach()  # the file is engage's to close
