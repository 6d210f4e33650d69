"""Signals are wired one way: each app's receivers live in its ``receivers``
module, decorated with ``@receiver(..., dispatch_uid=...)``, and its
``ready()`` imports that module. A maintainer adding a receiver finds every
other one in the same place, and none is connected twice or forgotten."""

import ast
from pathlib import Path

import engage

ROOT = Path(engage.__file__).parent


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path.relative_to(ROOT.parent).as_posix(), ast.parse(path.read_text())


def _is_receiver(decorator: ast.expr) -> bool:
    func = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(func, ast.Name) and func.id == "receiver"


def test_receivers_are_only_in_receivers_modules():
    misplaced = [
        f"{name}:{node.lineno} {node.name}"
        for name, tree in _modules()
        if not name.endswith("/receivers.py")
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and any(map(_is_receiver, node.decorator_list))
    ]
    assert misplaced == []


def test_no_signal_is_connected_by_hand():
    connected = [
        f"{name}:{node.lineno}"
        for name, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "connect"
    ]
    assert connected == []


def test_every_receivers_module_has_a_dispatch_uid_and_is_imported_by_its_app():
    for name, tree in _modules():
        if not name.endswith("/receivers.py"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                calls = [d for d in node.decorator_list if _is_receiver(d)]
                assert calls, f"{name}: {node.name} is not a receiver"
                assert all(
                    isinstance(d, ast.Call) and any(k.arg == "dispatch_uid" for k in d.keywords)
                    for d in calls
                ), f"{name}: {node.name} needs a dispatch_uid"
        apps = (ROOT.parent / name).with_name("apps.py").read_text()
        assert "from . import receivers" in apps, f"{name} is not imported by its app's ready()"
