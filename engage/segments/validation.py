"""Validation of a segment rule tree: every error names the path of the bad node.

``validate_rules`` is called by the services before a segment is saved and
before a preview runs, so the compiler only ever sees valid trees and never
has to guess. Errors read like ``rules.and[2].event.within_days: must be a
positive integer``.
"""

from . import schema
from .conditions import CONDITIONS
from .conditions.value import is_int


class InvalidSegment(ValueError):
    """A segment (or its rule tree) that cannot be saved; ``errors`` lists each
    problem as ``path: reason``."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


def validate_rules(
    rules, *, workspace_id: int, segment_id: int | None = None, path: str = "rules"
) -> None:
    """Raise InvalidSegment unless ``rules`` is a valid tree for this workspace.

    ``segment_id`` is the segment being edited, so that references back to it
    (directly or through other segments) are reported as cycles.
    """
    checker = Checker()
    checker.node(rules, path, depth=1)
    if not checker.errors and checker.segment_refs:
        _check_segment_refs(checker, rules, workspace_id, segment_id)
    if checker.errors:
        raise InvalidSegment(checker.errors)


class Checker:
    """Collects errors while walking a tree; the condition modules report
    through it and use its checks of fields, names and integers."""

    def __init__(self):
        self.errors: list[str] = []
        self.nodes = 0
        self.segment_refs: list[tuple[str, int]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def node(self, node, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes == schema.MAX_NODES + 1:
            self.error(path, f"a rule tree may hold at most {schema.MAX_NODES} conditions")
        if depth > schema.MAX_DEPTH:
            self.error(path, f"nested deeper than {schema.MAX_DEPTH} levels")
            return
        expected = ", ".join((*schema.GROUP_KINDS, schema.NOT, *CONDITIONS))
        if not isinstance(node, dict) or len(node) != 1:
            self.error(path, f"must be an object with exactly one key ({expected})")
            return
        kind = schema.node_kind(node)
        body = node[kind]
        if kind in schema.GROUP_KINDS:
            if not isinstance(body, list) or not body:
                self.error(f"{path}.{kind}", "must be a non-empty list of conditions")
                return
            for i, child in enumerate(body):
                self.node(child, f"{path}.{kind}[{i}]", depth + 1)
        elif kind == schema.NOT:
            self.node(body, f"{path}.not", depth + 1)
        elif kind in CONDITIONS:
            CONDITIONS[kind].validate(self, body, f"{path}.{kind}")
        else:
            self.error(path, f"unknown condition {kind!r} (expected one of {expected})")

    def fields(self, body, path: str, required: set[str], optional: set[str]) -> bool:
        if not isinstance(body, dict):
            self.error(path, "must be an object")
            return False
        for name in sorted(set(body) - required - optional):
            self.error(f"{path}.{name}", "unknown field")
        for name in sorted(required - set(body)):
            self.error(f"{path}.{name}", "is required")
        return required <= set(body)

    def json_path(self, value, path: str) -> None:
        if not isinstance(value, str) or not all(
            schema.PATH_SEGMENT.match(part) for part in value.split(".")
        ):
            self.error(path, "must be a name of letters, digits, '_' or '-' (dots for nesting)")

    def integer(self, value, path: str, low: int, high: int | None) -> bool:
        if not is_int(value) or value < low or (high is not None and value > high):
            if low == 1 and high is not None:
                self.error(path, f"must be a positive integer (at most {high})")
            elif low == 1:
                self.error(path, "must be a positive integer")
            else:
                self.error(path, f"must be an integer from {low} to {high}")
            return False
        return True


def _check_segment_refs(checker: Checker, rules, workspace_id: int, segment_id) -> None:
    from .models import Segment

    stored = {
        s.id: (s.name, s.rules)
        for s in Segment.objects.filter(workspace_id=workspace_id).only("id", "name", "rules")
    }
    for path, ref in checker.segment_refs:
        if ref not in stored:
            checker.error(path, f"no segment {ref} in this workspace")
        elif ref == segment_id:
            checker.error(path, "a segment cannot contain itself")
        elif segment_id is not None:
            cycle = _path_to(ref, segment_id, stored)
            if cycle:
                chain = " → ".join(str(s) for s in cycle)
                checker.error(path, f"segment {ref} refers back to this segment ({chain})")


def _path_to(start: int, target: int, stored: dict) -> list[int] | None:
    """A chain of segment references from ``start`` to ``target``, or None."""
    seen: set[int] = set()
    stack = [(start, [start])]
    while stack:
        current, chain = stack.pop()
        if current in seen or current not in stored:
            continue
        seen.add(current)
        for ref in schema.referenced_segment_ids(stored[current][1]):
            if ref == target:
                return [*chain, ref]
            stack.append((ref, [*chain, ref]))
    return None
