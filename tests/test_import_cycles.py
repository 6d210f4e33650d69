"""No import cycle inside or between apps, function-level imports included.

A cycle makes a module's meaning depend on import order and leaves no place
to start reading; between apps, it means neither can be changed or tested
without the other. The imports are read with ``ast`` from every module under
``engage/`` and ``plugins/`` (migrations aside), wherever they sit in the
file: a function-level import is a dependency all the same. Imports under
``if TYPE_CHECKING:`` are left out, since they never run.

Two graphs are checked:

- modules: no module may import itself back through others;
- units: each app under ``engage/`` is a unit, ``plugins/`` (the built-ins)
  another, and a shared module (``engage/bulk.py``) or package
  (``engage/api/``) one of its own. An app's front doors, its HTTP API
  (``<app>/api/``, ``urls``), its admin and its commands, are units apart
  from the app: the shared API plumbing reads app models
  (``engage.api.scoping`` finds the profile), every app's API uses that
  plumbing, and a page or a command may show or call several apps; what must
  not loop is the apps' own code.

A failure prints each cycle, with an import that makes each of its steps.
"""

import ast
import itertools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engage", "plugins")
FRONT_DOORS = {"api", "urls", "admin", "management"}


def _modules() -> dict[str, tuple[Path, bool]]:
    """{dotted name: (path, is a package)} of every module to check."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            found[".".join(parts)] = (path, is_package)
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under ``if TYPE_CHECKING:``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped |= {id(n) for n in ast.walk(child)}
    return skipped


def _imports(name: str, path: Path, is_package: bool, modules) -> dict[str, int]:
    """{imported module of ours: line} for every import in ``name``.

    ``from package import module`` depends on that module, not on the
    package's ``__init__``; ``from package import name`` on the package.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_only(tree)
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = name.split(".")
                base = parts[: len(parts) - node.level + (1 if is_package else 0)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.append(submodule if submodule in modules else source)
        for target in targets:
            if target in modules and target != name:
                found.setdefault(target, node.lineno)
    return found


def _graph():
    modules = _modules()
    return {
        name: _imports(name, path, is_package, modules)
        for name, (path, is_package) in modules.items()
    }


def _unit(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "plugins":
        return "plugins"
    unit = ".".join(parts[:2])
    if len(parts) > 2 and parts[2] in FRONT_DOORS:
        unit += f".{parts[2]}"
    return unit


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path) per strongly connected component (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_path_within(component, edges) for component in components]


def _path_within(component: set[str], edges) -> list[str]:
    """A shortest cycle through the component's first node, for the message."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for other in sorted(edges.get(node, set()) & component):
                if other == start:
                    return [*paths[node], start]
                if other not in paths:
                    paths[other] = [*paths[node], other]
                    following.append(other)
        frontier = following
    return [start]


def _describe(cycle: list[str], graph, unit_of=None) -> str:
    """The cycle, each step with an import that makes it."""
    steps = []
    for here, there in itertools.pairwise(cycle):
        examples = (
            [
                f"{module}:{line} imports {target}"
                for module, imports in sorted(graph.items())
                for target, line in sorted(imports.items())
                if (unit_of(module), unit_of(target)) == (here, there)
            ]
            if unit_of
            else [f"{here}:{graph[here][there]} imports {there}"]
        )
        steps.append(f"  {here} -> {there}  ({examples[0]})")
    return "\n".join(steps)


def test_no_module_imports_itself_back():
    graph = _graph()
    cycles = _cycles({module: set(imports) for module, imports in graph.items()})
    message = "\n\n".join(_describe(cycle, graph) for cycle in cycles)
    assert not cycles, f"import cycles between modules:\n{message}"


def test_no_app_depends_on_itself_through_another():
    graph = _graph()
    edges: dict[str, set[str]] = {}
    for module, imports in graph.items():
        for target in imports:
            if _unit(module) != _unit(target):
                edges.setdefault(_unit(module), set()).add(_unit(target))
    cycles = _cycles(edges)
    message = "\n\n".join(_describe(cycle, graph, _unit) for cycle in cycles)
    assert not cycles, f"import cycles between apps:\n{message}"


def test_function_level_imports_are_read(tmp_path):
    """An import inside a function is a dependency like any other."""
    module = tmp_path / "late.py"
    module.write_text("def handler():\n    from engage.events.models import Event\n")
    modules = _modules()
    assert _imports("engage.late", module, False, modules) == {"engage.events.models": 2}
