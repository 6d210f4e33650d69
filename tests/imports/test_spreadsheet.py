import pytest

from engage.imports.spreadsheet import escape_formula


@pytest.mark.parametrize(
    "cell",
    ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
    ids=["equals", "plus", "minus", "at", "tab", "cr"],
)
def test_a_cell_a_spreadsheet_would_run_is_exported_as_text(cell):
    assert escape_formula(cell) == "'" + cell


@pytest.mark.parametrize(
    "value", ["Ada", "a=b", "", 42, -3, None], ids=["text", "inner", "empty", "int", "neg", "none"]
)
def test_other_values_are_left_alone(value):
    assert escape_formula(value) == value
