"""The hook surface documents itself: a hook added without its section in
docs/plugins.md, or without a line for each argument and its return value,
is unfinished."""

import inspect
import re
from pathlib import Path

import pytest

from engage.plugins import PROJECT_NAME, hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"

HOOKS = [
    function
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, f"{PROJECT_NAME}_spec")
]


def test_every_hook_is_found():
    assert {hook.__name__ for hook in HOOKS} >= {"engage_channels", "engage_check_send"}


@pytest.mark.parametrize("hook", HOOKS, ids=lambda hook: hook.__name__)
def test_every_hook_has_its_section_in_the_plugin_docs(hook):
    arguments = ", ".join(inspect.signature(hook).parameters)
    headings = re.findall(r"^### `(\w+)\((.*)\)`$", DOCS.read_text(), flags=re.MULTILINE)
    assert (hook.__name__, arguments) in headings, (
        f"docs/plugins.md has no section '### `{hook.__name__}({arguments})`'"
    )


@pytest.mark.parametrize("hook", HOOKS, ids=lambda hook: hook.__name__)
def test_every_hook_says_what_it_receives_and_returns(hook):
    doc = inspect.getdoc(hook) or ""
    signature = inspect.signature(hook)
    missing = [name for name in signature.parameters if f":param {name}:" not in doc]
    assert not missing, f"{hook.__name__}: no :param: line for {', '.join(missing)}"
    assert ":return:" in doc, f"{hook.__name__}: no :return: line"
    assert signature.return_annotation is not inspect.Signature.empty, (
        f"{hook.__name__}: no return type"
    )
    unannotated = [p.name for p in signature.parameters.values() if p.annotation is p.empty]
    assert not unannotated, f"{hook.__name__}: untyped {', '.join(unannotated)}"
