"""The journey's graph as an SVG, drawn server-side with its live counts.

The admin shows it on the journey's page. Installs and the demo run offline,
so the picture is plain SVG computed here (no script, no CDN, no Graphviz):
nodes are laid out in rows by the longest path reaching them from
``start``, so every edge goes down a row or more, except an edge closing a
loop, which goes back up around the right side.

Each box names the node, its type and a short description, with how many
customers arrived at it and stand there now; each edge is labelled with its
outcome and how many left by it. Every text taken from the definition is
escaped, and cut to fit its box (the whole text is the box's tooltip).
"""

from html import escape

from django.utils.safestring import SafeString, mark_safe

from engage.segments.summary import describe as describe_rules

from . import graph
from .nodes import NODE_TYPES
from .selectors import NodeCounts

BOX_WIDTH = 240
BOX_HEIGHT = 74
COLUMN_GAP = 60
ROW_GAP = 80
MARGIN = 24
LANE = 90  # room on each side: edges skipping rows go down the left, loops up the right
END_STUB = 34  # an outcome that ends the walk: a short line to an end mark
CHARS_PER_LINE = 34


def render(definition: dict, counts: list[NodeCounts]) -> SafeString:
    """The SVG of ``definition`` with ``counts`` (``selectors.node_counts``, in walk order)."""
    nodes = definition.get("nodes", {})
    layers = _layers(definition, [row.node_id for row in counts])
    positions = {}
    widest = max((len(layer) for layer in layers), default=1)
    for row_number, layer in enumerate(layers):
        offset = (widest - len(layer)) * (BOX_WIDTH + COLUMN_GAP) / 2
        for column, node_id in enumerate(layer):
            x = MARGIN + LANE + offset + column * (BOX_WIDTH + COLUMN_GAP)
            y = MARGIN + row_number * (BOX_HEIGHT + ROW_GAP)
            positions[node_id] = (x, y)
    width = MARGIN * 2 + widest * BOX_WIDTH + (widest - 1) * COLUMN_GAP + LANE * 2
    # Below the last row: room for the ends drawn under it and their labels.
    height = MARGIN * 2 + len(layers) * (BOX_HEIGHT + ROW_GAP) - ROW_GAP + END_STUB + 30
    row_of = {node_id: i for i, layer in enumerate(layers) for node_id in layer}
    parts = []
    loops = skips = 0
    for row in counts:
        node = nodes.get(row.node_id, {})
        ways = _outcomes(node)
        for k, (outcome, target) in enumerate(ways.items()):
            label = f"{outcome}: {row.left.get(outcome, 0)}"
            # Ways out leave the box's bottom side spread apart, labels staggered.
            x, y = positions[row.node_id]
            exit_point = (x + BOX_WIDTH * (k + 1) / (len(ways) + 1), y + BOX_HEIGHT, k * 14)
            if target in positions and row_of[target] <= row_of[row.node_id]:
                loops += 1
                parts.append(_loop(positions[row.node_id], positions[target], label, loops, width))
            elif target in positions and row_of[target] > row_of[row.node_id] + 1:
                skips += 1
                parts.append(_skip(positions[row.node_id], positions[target], label, skips))
            elif target in positions:
                parts.append(_edge(exit_point, positions[target], label))
            else:
                parts.append(_end(exit_point, label))
    parts.extend(_box(row, nodes.get(row.node_id, {}), *positions[row.node_id]) for row in counts)
    return mark_safe(  # noqa: S308 - every text above is escaped by _text or _attr
        f'<svg xmlns="http://www.w3.org/2000/svg" class="journey-diagram" role="img"'
        f' aria-label="journey diagram" width="{width:.0f}" height="{height:.0f}"'
        f' viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"'
        ' fill="#555"/></marker></defs>' + "".join(parts) + "</svg>"
    )


def describe(node: dict) -> str:
    """A few words on what the node does, for its box."""
    kind = node.get("type")
    if kind == "send":
        return f"{node.get('channel')}: {node.get('template')}"
    if kind == "wait":
        return _span(node.get("duration"))
    if kind == "wait_for":
        listens = node.get("event") or f"a reply to {node.get('response_to')}"
        return f"{listens}, up to {_span(node.get('timeout'))}"
    if kind == "wait_until":
        days = node.get("days")
        return f"until {node.get('time')}" + (f" on {', '.join(days)}" if days else "")
    if kind == "branch":
        try:
            return describe_rules(node.get("condition"))
        except (KeyError, TypeError, ValueError):
            return ""
    if kind == "split":
        return ", ".join(f"{name} {share}%" for name, share in node.get("variants", {}).items())
    if kind == "ladder":
        return " → ".join(str(rung.get("channel")) for rung in node.get("rungs", []))
    if kind == "update_traits":
        return "sets " + ", ".join(node.get("traits", {}))
    if kind == "webhook":
        return f"calls {node.get('url')}"
    return ""


def _span(duration) -> str:
    if not isinstance(duration, dict):
        return ""
    return ", ".join(f"{amount} {unit}" for unit, amount in duration.items())


def _layers(definition: dict, order: list[str]) -> list[list[str]]:
    """Rows of node ids, in ``order`` within a row: each node one row below
    the lowest node leading to it (the longest path from ``start``, loops
    left out), so every edge but a loop's goes down; nodes no edge reaches
    go on a last row."""
    nodes = definition.get("nodes", {})
    ahead = {
        node_id: [t for t in graph.edges(node).values() if t in nodes]
        for node_id, node in nodes.items()
        if isinstance(node, dict)
    }
    finished: list[str] = []  # depth-first post-order
    back_edges = set()
    start = definition.get("start")
    if start in ahead:
        on_path, seen = {start}, {start}
        stack = [(start, iter(ahead[start]))]
        while stack:
            node_id, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                stack.pop()
                on_path.discard(node_id)
                finished.append(node_id)
            elif target in on_path:
                back_edges.add((node_id, target))
            elif target not in seen:
                seen.add(target)
                on_path.add(target)
                stack.append((target, iter(ahead[target])))
    depth = dict.fromkeys(finished, 0)
    for node_id in reversed(finished):  # a topological order of the loop-free graph
        for target in ahead[node_id]:
            if (node_id, target) not in back_edges:
                depth[target] = max(depth[target], depth[node_id] + 1)
    stranded = max(depth.values(), default=-1) + 1
    layers: dict[int, list[str]] = {}
    for node_id in order:
        layers.setdefault(depth.get(node_id, stranded), []).append(node_id)
    return [layers[i] for i in sorted(layers)]


def _outcomes(node: dict) -> dict[str, str | None]:
    """Each way out of the node and where it goes (None: the walk ends there)."""
    kind = NODE_TYPES.get(node.get("type"))
    ways = graph.edges(node) if isinstance(node.get(graph.NEXT), (str, dict)) else {}
    if kind is None or node.get("type") == "exit":
        return ways
    return {outcome: ways.get(outcome) for outcome in kind.outcomes(node)}


def _box(row: NodeCounts, node: dict, x: float, y: float) -> str:
    about = describe(node)
    lines = [
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6"'
        ' fill="#f4f7fb" stroke="#4a6785"/>',
        _text(x + 10, y + 18, row.node_id, weight="bold"),
        _text(x + BOX_WIDTH - 10, y + 18, row.type, anchor="end", fill="#4a6785"),
        _text(x + 10, y + 38, _cut(about), fill="#333"),
        _text(x + 10, y + 60, f"entered {row.entered} · waiting now {row.waiting}"),
    ]
    title = f"{row.node_id} ({row.type}) {about}".strip()
    return (
        f'<g class="journey-node" data-node="{_attr(row.node_id)}">'
        f"<title>{escape(title)}</title>{''.join(lines)}</g>"
    )


def _edge(exit_point: tuple, target: tuple, label: str) -> str:
    x1, y1, stagger = exit_point
    x2, y2 = target[0] + BOX_WIDTH / 2, target[1]
    return _labelled(
        f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}"', x1, y1 + stagger, label
    )


def _loop(source: tuple, target: tuple, label: str, lane: int, width: float) -> str:
    """An edge back up (or across) a row: out of the source's right side,
    up a lane on the right of the picture, into the target's right side."""
    x_lane = width - MARGIN - (lane % 4) * 14
    y1, y2 = source[1] + BOX_HEIGHT / 2, target[1] + BOX_HEIGHT / 2 + 10
    x1, x2 = source[0] + BOX_WIDTH, target[0] + BOX_WIDTH
    path = f"M {x1:.0f} {y1:.0f} H {x_lane:.0f} V {y2:.0f} H {x2:.0f}"
    return _labelled(f'<path d="{path}" fill="none"', x1 + 4, y1 - 14, label)


def _skip(source: tuple, target: tuple, label: str, lane: int) -> str:
    """An edge down past a row: out of the source's left side, down a lane
    on the left of the picture, into the target's left side."""
    x_lane = MARGIN + (lane % 4) * 14
    y1, y2 = source[1] + BOX_HEIGHT / 2, target[1] + BOX_HEIGHT / 2 - 10
    x1, x2 = source[0], target[0]
    path = f"M {x1:.0f} {y1:.0f} H {x_lane:.0f} V {y2:.0f} H {x2:.0f}"
    return _labelled(f'<path d="{path}" fill="none"', x_lane, (y1 + y2) / 2 - 20, label)


def _end(exit_point: tuple, label: str) -> str:
    """An outcome with no node: the customers leaving by it complete the journey."""
    x, y, stagger = exit_point
    return _labelled(
        f'<line x1="{x:.0f}" y1="{y:.0f}" x2="{x:.0f}" y2="{y + END_STUB:.0f}"',
        x,
        y + stagger,
        f"{label} (end)",
    )


def _labelled(shape: str, x: float, y: float, label: str) -> str:
    return (
        f'<g class="journey-edge">{shape} stroke="#555" marker-end="url(#arrow)"/>'
        f"{_text(x + 6, y + 20, label, fill='#8a4b00')}</g>"
    )


def _text(x: float, y: float, text: str, *, anchor="start", weight="normal", fill="#000") -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" font-weight="{weight}"'
        f' fill="{fill}">{escape(text)}</text>'
    )


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _cut(text: str) -> str:
    return text if len(text) <= CHARS_PER_LINE else text[: CHARS_PER_LINE - 1] + "…"
