"""A plain-language sentence for a rule tree, shown in the admin and the API.

Operators read "did purchase at least 2 times in the last 30 days and did not
do app_open in the last 14 days" to check that the JSON says what they meant.
"""

from . import schema
from .conditions import CONDITIONS


def describe(rules: dict | None, *, segment_names: dict[int, str] | None = None) -> str:
    """The sentence for a validated tree; ``segment_names`` names referenced segments."""
    if not rules:
        return "uploaded list (static segment)"
    return _node(rules, segment_names or {}, top=True)


def _node(node: dict, names: dict[int, str], top: bool = False) -> str:
    kind = schema.node_kind(node)
    body = node[kind]
    if kind in schema.GROUP_KINDS:
        text = f" {kind} ".join(_node(child, names) for child in body)
        return text if top or len(body) == 1 else f"({text})"
    if kind == schema.NOT:
        inner = _node(body, names)
        return f"not {inner}" if inner.startswith("(") else f"not ({inner})"
    return CONDITIONS[kind].describe(body, names)
