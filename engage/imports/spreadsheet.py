"""Values written to files that people open in a spreadsheet.

A CSV cell such as ``=HYPERLINK("http://evil", "click")`` is data to engage,
but Excel, LibreOffice and Google Sheets run it as a formula when the file is
opened (CSV injection). Every export engage writes passes its text cells
through ``escape_formula``. Imports need no counterpart: engage never
evaluates a cell, a CSV file holds no formulas, only text, and a cell that
starts with ``=`` is stored as that text.
"""

#: What makes a spreadsheet read a cell as a formula (OWASP's list): the
#: signs, and tab or carriage return, which some strip before looking.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    """``value`` with a leading ``'`` if a spreadsheet would run it as a
    formula; other values (numbers, None, safe text) unchanged.

    The quote is what spreadsheets themselves use to mark a cell as text, so
    the cell shows the original characters after it.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
