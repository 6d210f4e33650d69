"""The node types of a journey, one module per type.

Each module holds everything about its type, so a new type is one file plus
a line here (or, outside engage, a plugin's ``engage_node_types`` hook):

- ``TYPE``: the value of the node's ``type``;
- ``outcomes(node) -> tuple[str, ...]``: the edges it can leave by (the keys
  its ``next`` object may have; ``("next",)`` for one way out);
- ``validate(checker, node, path)``: report errors through ``checker``
  (``validation.Checker``), each naming the JSON path of the bad field;
- ``run(batch)``: carry out the step for every enrollment of
  ``batch`` (``engine.StepBatch``: enrollments of one version standing at
  this node, locked by the engine) by calling ``batch.go``, ``batch.wait``
  or ``batch.end`` once for each. Work that reads the database does it for
  the whole batch at once (one query, not one per customer);
- ``AT_ENTRY`` (optional, false by default): ``run`` only reads and moves
  enrollments (no send, no write, no call out), so entry may run it for
  customers entering now, before their rows are written and while their
  ids are provisional (``steps.start``).
"""

from collections.abc import Iterator, MutableMapping

from django.core.exceptions import ImproperlyConfigured

from engage.plugins import manager

from . import (
    branch,
    exit,
    ladder,
    send,
    split,
    update_traits,
    wait,
    wait_for,
    wait_until,
    webhook,
)

BUILT_IN: dict = {
    module.TYPE: module
    for module in (
        exit,
        wait,
        branch,
        split,
        update_traits,
        webhook,
        send,
        wait_until,
        ladder,
        wait_for,
    )
}
HOOK = "engage_node_types"
REQUIRED = ("outcomes", "validate", "run")


class NodeTypes(MutableMapping):
    """The built-in types and the plugins', built from the plugin manager
    with its registries (at start-up, so a clash stops the process, and by
    ``manage.py check``) and again on first use after ``reset``."""

    def __init__(self):
        self._types: dict | None = None

    def _all(self) -> dict:
        if self._types is None:
            self.build()
        return self._types

    def build(self) -> None:
        self._types = _collect()

    def reset(self) -> None:
        self._types = None

    def __getitem__(self, key):
        return self._all()[key]

    def __setitem__(self, key, value) -> None:
        self._all()[key] = value

    def __delitem__(self, key) -> None:
        del self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _collect() -> dict:
    """Built-ins plus every plugin's node types; a plugin type without the
    module interface, or naming a type already taken, is refused, naming
    the plugin (a built-in cannot be replaced behind the operator's back)."""
    pm = manager.get_plugin_manager()
    found = dict(BUILT_IN)
    owners = dict.fromkeys(BUILT_IN, "engage (built-in)")
    for impl in getattr(pm.hook, HOOK).get_hookimpls():
        owner = pm.get_name(impl.plugin) or repr(impl.plugin)
        for kind in impl.function() or ():
            name = getattr(kind, "TYPE", None)
            missing = [attr for attr in REQUIRED if not callable(getattr(kind, attr, None))]
            if not isinstance(name, str) or not name or missing:
                raise ImproperlyConfigured(
                    f"plugin {owner!r}: {HOOK} returned {kind!r}, which needs a TYPE "
                    f"and {', '.join(REQUIRED)}"
                )
            if name in found:
                raise ImproperlyConfigured(
                    f"node type {name!r} is provided by both {owners[name]!r} and {owner!r}"
                )
            found[name] = kind
            owners[name] = owner
    return found


NODE_TYPES = NodeTypes()
manager.add_registry(NODE_TYPES)
