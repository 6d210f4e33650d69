"""Validation of a journey definition: every error names the JSON path of the bad field.

``validate_definition`` runs before a draft is saved and again before it is
published, so the engine only ever walks graphs it can finish: every edge
leads to a node, every node type is installed, every template exists, and no
loop can spin without a wait. A definition with any error is refused whole.
Errors read like ``definition.nodes.pause.duration: must be longer than
zero``.

The graph-level checks (the top-level keys, edges, loops) live here; each
node type checks its own fields through a ``Checker`` (see
``nodes/__init__.py``), which also holds the look-ups they share (templates,
channels, segment rules, event filters).
"""

from engage.messaging.models import Message, MessageTemplate
from engage.plugins.manager import UnknownPlugin, get_channel_class
from engage.segments.conditions import event as event_condition
from engage.segments.models import Segment
from engage.segments.validation import Checker as RuleChecker
from engage.segments.validation import InvalidSegment, validate_rules
from engage.workspaces.models import Workspace

from . import graph
from .nodes import NODE_TYPES

MAX_NODES = 500
MAX_EVENT_NAME = event_condition.MAX_NAME
MAX_DAILY_LIMIT = 10_000_000
MAX_REENTRY_DAYS = 3660
MAX_GOAL_HOURS = graph.MAX_DURATION.days * 24
# A loop through any of these waits before it comes round again; a loop
# through none of them would run forever inside one engine step.
WAITING_TYPES = ("wait", "wait_until", "wait_for", "ladder")
TOP_LEVEL = {"trigger", "entry", "goal", "exit", "start", "nodes"}
REENTRY = ("never", "always", "after")
SEGMENT_EDGES = ("enter", "leave")


class InvalidDefinition(ValueError):
    """A definition that cannot be saved; ``errors`` lists each problem as ``path: reason``."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


def validate_definition(definition, *, workspace: Workspace, path: str = "definition") -> None:
    """Raise InvalidDefinition unless ``definition`` is a whole, runnable journey."""
    checker = Checker(workspace, definition)
    checker.definition_errors(definition, path)
    if checker.errors:
        raise InvalidDefinition(checker.errors)


class Checker:
    """Collects errors while walking a definition; node types report through it
    and use its shared checks.

    ``node_id`` is the node being checked while a node type's ``validate``
    runs, and ``nodes`` the definition's nodes, for checks that look at the
    graph around a node (``earlier_node``).
    """

    def __init__(self, workspace: Workspace, definition):
        self.workspace = workspace
        self.errors: list[str] = []
        nodes = definition.get("nodes") if isinstance(definition, dict) else None
        self.nodes: dict = nodes if isinstance(nodes, dict) else {}
        self.node_id = ""
        self._templates: dict[str, str] | None = None

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    # --- checks the node types share -------------------------------------

    def fields(self, body, path: str, required: set[str], optional: set[str]) -> bool:
        """``body`` is an object with every ``required`` field and no unknown one.

        A node's ``type`` and ``next`` belong to the graph and are always allowed.
        """
        if not isinstance(body, dict):
            self.error(path, "must be an object")
            return False
        known = required | optional | {"type", graph.NEXT}
        for name in sorted(set(body) - known):
            self.error(f"{path}.{name}", "unknown field")
        for name in sorted(required - set(body)):
            self.error(f"{path}.{name}", "is required")
        return required <= set(body)

    def duration(self, value, path: str) -> bool:
        errors = graph.duration_errors(value, path)
        self.errors.extend(errors)
        return not errors

    def integer(self, value, path: str, low: int, high: int) -> bool:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(path, f"must be an integer from {low} to {high}")
            return False
        return True

    def text(self, value, path: str, max_length: int) -> bool:
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            self.error(path, f"must be a non-empty string of at most {max_length} characters")
            return False
        return True

    def event_name(self, value, path: str) -> bool:
        return self.text(value, path, MAX_EVENT_NAME)

    def channel(self, value, path: str) -> bool:
        """An installed channel plugin (enabling it per workspace may come later)."""
        if not self.text(value, path, 64):
            return False
        try:
            get_channel_class(value)
        except UnknownPlugin as exc:
            self.error(path, f"channel not installed ({exc})")
            return False
        return True

    def template(self, name, path: str, channels: tuple[str, ...]) -> bool:
        """A template of the workspace named ``name``, written for one of ``channels``."""
        if not self.text(name, path, 100):
            return False
        if self._templates is None:
            self._templates = dict(
                MessageTemplate.objects.filter(workspace=self.workspace).values_list(
                    "name", "channel"
                )
            )
        channel = self._templates.get(name)
        if channel is None:
            self.error(path, f"no template named {name!r} in this workspace")
            return False
        if channel not in channels:
            self.error(path, f"template {name!r} is for {channel}, not {' or '.join(channels)}")
            return False
        return True

    def category(self, value, path: str) -> bool:
        if not isinstance(value, str) or value not in Message.CATEGORY_RANK:
            self.error(path, f"must be one of {', '.join(Message.CATEGORY_RANK)}")
            return False
        return True

    def rules(self, tree, path: str) -> bool:
        """A segment rule tree (a branch condition, an exit condition)."""
        try:
            validate_rules(tree, workspace_id=self.workspace.pk, path=path)
        except InvalidSegment as exc:
            self.errors.extend(exc.errors)
            return False
        return True

    def filters(self, where, path: str) -> bool:
        """Event property filters (``where``), as the segment event condition takes them."""
        checker = RuleChecker()
        event_condition.validate(checker, {"name": "event", "where": where}, path)
        self.errors.extend(checker.errors)
        return not checker.errors

    def earlier_node(self, ref, path: str, types: tuple[str, ...]) -> bool:
        """``ref`` names a node of one of ``types`` from which the node being
        checked can be reached (what it sent comes before this node waits for it)."""
        if not isinstance(ref, str) or ref not in self.nodes:
            self.error(path, f"no node {ref!r} in this journey")
            return False
        target = self.nodes[ref]
        if not isinstance(target, dict) or target.get("type") not in types:
            self.error(path, f"node {ref!r} is not a {' or '.join(types)} node")
            return False
        if self.node_id not in _after(self.nodes, ref):
            self.error(path, f"node {ref!r} does not come before this node")
            return False
        return True

    # --- the definition ---------------------------------------------------

    def definition_errors(self, definition, path: str) -> None:
        if not isinstance(definition, dict):
            self.error(path, "must be an object")
            return
        for name in sorted(set(definition) - TOP_LEVEL):
            self.error(f"{path}.{name}", "unknown field")
        for name in ("trigger", "start", "nodes"):
            if name not in definition:
                self.error(f"{path}.{name}", "is required")
        if "trigger" in definition:
            self._trigger(definition["trigger"], f"{path}.trigger")
        if "entry" in definition:
            self._entry(definition["entry"], f"{path}.entry")
        if "goal" in definition:
            self._goal(definition["goal"], f"{path}.goal")
        if "exit" in definition:
            self._exit(definition["exit"], f"{path}.exit", definition.get("trigger"))
        if "nodes" in definition:
            self._nodes(definition["nodes"], f"{path}.nodes")
        if "start" in definition and isinstance(definition.get("nodes"), dict):
            start = definition["start"]
            if not isinstance(start, str) or start not in definition["nodes"]:
                self.error(f"{path}.start", f"no node {start!r} in nodes")

    def _trigger(self, trigger, path: str) -> None:
        if not isinstance(trigger, dict):
            self.error(path, "must be an object: {event, where}, {segment, on} or {manual: true}")
        elif "event" in trigger:
            if self.fields(trigger, path, {"event"}, {"where"}):
                self.event_name(trigger["event"], f"{path}.event")
                self.filters(trigger.get("where", []), path)
        elif "segment" in trigger:
            if self.fields(trigger, path, {"segment"}, {"on"}):
                self._segment(trigger["segment"], f"{path}.segment")
                if trigger.get("on", "enter") not in SEGMENT_EDGES:
                    self.error(f"{path}.on", "must be 'enter' or 'leave'")
        elif "manual" in trigger:
            if self.fields(trigger, path, {"manual"}, set()) and trigger["manual"] is not True:
                self.error(f"{path}.manual", "must be true")
        else:
            self.error(path, "must have one of event, segment or manual")

    def _segment(self, value, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, "must be a segment id (an integer)")
        elif not Segment.objects.filter(workspace=self.workspace, pk=value).exists():
            self.error(path, f"no segment {value} in this workspace")

    def _entry(self, entry, path: str) -> None:
        if not self.fields(entry, path, set(), {"reentry", "after_days", "daily_limit"}):
            return
        reentry = entry.get("reentry", "never")
        if reentry not in REENTRY:
            self.error(f"{path}.reentry", f"must be one of {', '.join(REENTRY)}")
        if reentry == "after":
            if "after_days" not in entry:
                self.error(f"{path}.after_days", "is required when reentry is 'after'")
            else:
                self.integer(entry["after_days"], f"{path}.after_days", 1, MAX_REENTRY_DAYS)
        elif "after_days" in entry:
            self.error(f"{path}.after_days", "only with reentry 'after'")
        if "daily_limit" in entry:
            self.integer(entry["daily_limit"], f"{path}.daily_limit", 1, MAX_DAILY_LIMIT)

    def _goal(self, goal, path: str) -> None:
        if self.fields(goal, path, {"event"}, {"where", "within_hours"}):
            self.event_name(goal["event"], f"{path}.event")
            self.filters(goal.get("where", []), path)
            if "within_hours" in goal:
                self.integer(goal["within_hours"], f"{path}.within_hours", 1, MAX_GOAL_HOURS)

    def _exit(self, exit_, path: str, trigger) -> None:
        if not self.fields(exit_, path, set(), {"leaves_segment", "when"}):
            return
        if not exit_:
            self.error(path, "must have leaves_segment or when")
        if "leaves_segment" in exit_:
            if not isinstance(exit_["leaves_segment"], bool):
                self.error(f"{path}.leaves_segment", "must be true or false")
            elif exit_["leaves_segment"] and not (
                isinstance(trigger, dict) and "segment" in trigger
            ):
                self.error(f"{path}.leaves_segment", "needs a segment trigger")
            elif exit_["leaves_segment"] and trigger.get("on") == "leave":
                self.error(
                    f"{path}.leaves_segment",
                    "customers enter on leaving the segment: they cannot also exit on it",
                )
        if "when" in exit_:
            self.rules(exit_["when"], f"{path}.when")

    def _nodes(self, nodes, path: str) -> None:
        if not isinstance(nodes, dict) or not nodes:
            self.error(path, "must be a non-empty object of node id to node")
            return
        if len(nodes) > MAX_NODES:
            self.error(path, f"a journey may hold at most {MAX_NODES} nodes")
            return
        for node_id, node in nodes.items():
            npath = f"{path}.{node_id}"
            if not graph.NODE_ID.match(node_id):
                self.error(npath, "a node id has 1 to 64 letters, digits, '_' or '-'")
            elif self._node(node_id, node, npath):
                self._edges(node_id, node, npath, nodes)
        if not self.errors:
            self._loops(nodes, path)

    def _node(self, node_id: str, node, path: str) -> bool:
        """Check the node's own fields; True when its edges can be checked."""
        if not isinstance(node, dict):
            self.error(path, "must be an object")
            return False
        kind = node.get("type")
        if not isinstance(kind, str) or kind not in NODE_TYPES:
            known = ", ".join(sorted(NODE_TYPES)) or "none installed"
            self.error(f"{path}.type", f"unknown node type {kind!r} (expected one of {known})")
            return False
        before = len(self.errors)
        self.node_id = node_id
        NODE_TYPES[kind].validate(self, node, path)
        return len(self.errors) == before

    def _edges(self, node_id: str, node: dict, path: str, nodes: dict) -> None:
        outcomes = tuple(NODE_TYPES[node["type"]].outcomes(node))
        target = node.get(graph.NEXT)
        if target is None:
            return
        epath = f"{path}.{graph.NEXT}"
        if isinstance(target, str):
            if outcomes != (graph.NEXT,):
                self.error(epath, f"must be an object of {', '.join(outcomes) or 'no outcomes'}")
            elif target not in nodes:
                self.error(epath, f"no node {target!r} in nodes")
            return
        if not isinstance(target, dict):
            self.error(epath, "must be a node id or an object of outcome to node id")
            return
        for outcome, dest in target.items():
            if outcome not in outcomes:
                expected = ", ".join(outcomes) or "none"
                self.error(f"{epath}.{outcome}", f"not an outcome of {node['type']} ({expected})")
            elif not isinstance(dest, str) or dest not in nodes:
                self.error(f"{epath}.{outcome}", f"no node {dest!r} in nodes")

    def _loops(self, nodes: dict, path: str) -> None:
        """Refuse a loop none of whose nodes waits: it would never yield."""
        running = {
            node_id: [t for t in _targets(node) if t in nodes]
            for node_id, node in nodes.items()
            if node["type"] not in WAITING_TYPES
        }
        done: set[str] = set()
        for root in running:
            if root in done:
                continue
            trail: list[str] = []
            on_trail: set[str] = set()
            stack = [(root, iter(running[root]))]
            trail.append(root)
            on_trail.add(root)
            while stack:
                current, targets = stack[-1]
                for target in targets:
                    if target not in running or target in done:
                        continue
                    if target in on_trail:
                        loop = [*trail[trail.index(target) :], target]
                        self.error(
                            f"{path}.{current}.{graph.NEXT}",
                            f"closes a loop without a wait ({' → '.join(loop)}); put a "
                            f"{', '.join(WAITING_TYPES[:-1])} or {WAITING_TYPES[-1]} node in it",
                        )
                        return
                    stack.append((target, iter(running[target])))
                    trail.append(target)
                    on_trail.add(target)
                    break
                else:
                    stack.pop()
                    trail.pop()
                    on_trail.discard(current)
                    done.add(current)


def _targets(node) -> list[str]:
    """The node ids ``node`` leads to, read defensively (edges not yet checked)."""
    target = node.get(graph.NEXT) if isinstance(node, dict) else None
    if isinstance(target, str):
        return [target]
    if isinstance(target, dict):
        return [t for t in target.values() if isinstance(t, str)]
    return []


def _after(nodes: dict, start: str) -> set[str]:
    """The node ids reachable from ``start`` by one edge or more."""
    seen: set[str] = set()
    stack = _targets(nodes[start])
    while stack:
        current = stack.pop()
        if current in seen or current not in nodes:
            continue
        seen.add(current)
        stack.extend(_targets(nodes[current]))
    return seen
