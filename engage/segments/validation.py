"""Validation of a segment rule tree: every error names the path of the bad node.

``validate_rules`` is called by the services before a segment is saved and
before a preview runs, so the compiler only ever sees valid trees and never
has to guess. Errors read like ``rules.and[2].event.within_days: must be a
positive integer``.
"""

import datetime
import math

from engage.profiles.identifiers import KIND_PATTERN

from . import schema


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
    checker = _Checker()
    checker.node(rules, path, depth=1)
    if not checker.errors and checker.segment_refs:
        _check_segment_refs(checker, rules, workspace_id, segment_id)
    if checker.errors:
        raise InvalidSegment(checker.errors)


class _Checker:
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
        expected = ", ".join(schema.NODE_KINDS)
        if not isinstance(node, dict) or len(node) != 1:
            self.error(path, f"must be an object with exactly one key ({expected})")
            return
        kind = schema.node_kind(node)
        body = node[kind]
        if kind not in schema.NODE_KINDS:
            self.error(path, f"unknown condition {kind!r} (expected one of {expected})")
        elif kind in schema.GROUP_KINDS:
            if not isinstance(body, list) or not body:
                self.error(f"{path}.{kind}", "must be a non-empty list of conditions")
                return
            for i, child in enumerate(body):
                self.node(child, f"{path}.{kind}[{i}]", depth + 1)
        elif kind == schema.NOT:
            self.node(body, f"{path}.not", depth + 1)
        else:
            getattr(self, kind)(body, f"{path}.{kind}")

    def fields(self, body, path: str, required: set[str], optional: set[str]) -> bool:
        if not isinstance(body, dict):
            self.error(path, "must be an object")
            return False
        for name in sorted(set(body) - required - optional):
            self.error(f"{path}.{name}", "unknown field")
        for name in sorted(required - set(body)):
            self.error(f"{path}.{name}", "is required")
        return required <= set(body)

    def trait(self, body, path: str) -> None:
        if self.fields(body, path, {"key", "op"}, {"value"}):
            self.json_path(body["key"], f"{path}.key")
            self.operator(body, path)

    def event(self, body, path: str) -> None:
        optional = {
            "did",
            "where",
            "at_least",
            "at_most",
            "within_days",
            "older_than_days",
            "occurrence",
        }
        if not self.fields(body, path, {"name"}, optional):
            return
        name = body["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > schema.MAX_EVENT_NAME:
            self.error(
                f"{path}.name",
                f"must be a non-empty string of at most {schema.MAX_EVENT_NAME} characters",
            )
        if "did" in body and not isinstance(body["did"], bool):
            self.error(f"{path}.did", "must be true or false")
        where = body.get("where", [])
        if not isinstance(where, list):
            self.error(f"{path}.where", "must be a list of property filters")
        else:
            for i, flt in enumerate(where):
                fpath = f"{path}.where[{i}]"
                if self.fields(flt, fpath, {"property", "op"}, {"value"}):
                    self.json_path(flt["property"], f"{fpath}.property")
                    self.operator(flt, fpath)
        for name in ("within_days", "older_than_days"):
            if name in body:
                self.integer(body[name], f"{path}.{name}", 1, schema.MAX_DAYS)
        within, older = body.get("within_days"), body.get("older_than_days")
        if _is_int(within) and _is_int(older) and older >= within:
            self.error(f"{path}.older_than_days", "must be less than within_days")
        if "occurrence" in body:
            if body["occurrence"] not in schema.OCCURRENCES:
                self.error(f"{path}.occurrence", "must be 'first' or 'last'")
            for name in ("at_least", "at_most"):
                if name in body:
                    self.error(f"{path}.{name}", "cannot be combined with occurrence")
            return
        least_ok = "at_least" not in body or self.integer(
            body["at_least"], f"{path}.at_least", 0, schema.MAX_COUNT
        )
        most_ok = "at_most" not in body or self.integer(
            body["at_most"], f"{path}.at_most", 0, schema.MAX_COUNT
        )
        least = body.get("at_least", 1)
        if least_ok and most_ok and "at_most" in body and body["at_most"] < least:
            self.error(f"{path}.at_most", f"must be at least at_least ({least})")
        if least_ok and least == 0 and "at_most" not in body:
            self.error(f"{path}.at_least", "0 needs at_most (otherwise every profile matches)")

    def identity(self, body, path: str) -> None:
        if self.fields(body, path, {"kind"}, set()):
            kind = body["kind"]
            if not isinstance(kind, str) or not (
                kind == schema.ANY_IDENTITY or KIND_PATTERN.match(kind)
            ):
                self.error(
                    f"{path}.kind",
                    "must be 'any' or an identifier kind (email, phone, user_id, ...)",
                )

    def consent(self, body, path: str) -> None:
        if not self.fields(body, path, {"channel", "status"}, {"topic"}):
            return
        for name in ("channel", "topic"):
            value = body.get(name, schema.DEFAULT_CONSENT_TOPIC)
            if not isinstance(value, str) or not KIND_PATTERN.match(value):
                self.error(
                    f"{path}.{name}",
                    "must be a lowercase name of letters, digits or '_' (e.g. email, sms)",
                )
        if body["status"] not in schema.CONSENT_STATUSES:
            self.error(f"{path}.status", "must be 'opted_in' or 'opted_out'")

    def score(self, body, path: str) -> None:
        if not self.fields(body, path, {"model"}, {"op", "value", "cell"}):
            return
        if not isinstance(body["model"], str) or not KIND_PATTERN.match(body["model"]):
            self.error(f"{path}.model", "must be a scoring model id such as 'rfm' or 'ces'")
        if "cell" in body:
            if "op" in body or "value" in body:
                self.error(f"{path}.cell", "use either cell or op/value, not both")
            cells = body["cell"] if isinstance(body["cell"], list) else [body["cell"]]
            if not cells or not all(
                isinstance(c, str) and schema.PATH_SEGMENT.match(c) for c in cells
            ):
                self.error(
                    f"{path}.cell",
                    "must be a cell name (e.g. 'champions') or a non-empty list of them",
                )
            return
        if "op" not in body:
            self.error(f"{path}.op", "is required (or give a cell)")
        elif body["op"] not in schema.SCORE_OPS:
            self.error(f"{path}.op", f"must be one of {', '.join(schema.SCORE_OPS)}")
        else:
            self.operator(body, path)

    def segment(self, body, path: str) -> None:
        if self.fields(body, path, {"id"}, set()) and self.integer(
            body["id"], f"{path}.id", 1, None
        ):
            self.segment_refs.append((f"{path}.id", body["id"]))

    def json_path(self, value, path: str) -> None:
        if not isinstance(value, str) or not all(
            schema.PATH_SEGMENT.match(part) for part in value.split(".")
        ):
            self.error(path, "must be a name of letters, digits, '_' or '-' (dots for nesting)")

    def integer(self, value, path: str, low: int, high: int | None) -> bool:
        if not _is_int(value) or value < low or (high is not None and value > high):
            if low == 1 and high is not None:
                self.error(path, f"must be a positive integer (at most {high})")
            elif low == 1:
                self.error(path, "must be a positive integer")
            else:
                self.error(path, f"must be an integer from {low} to {high}")
            return False
        return True

    def operator(self, body: dict, path: str) -> None:
        """Check ``op`` and the ``value`` it takes (shared by traits and event properties)."""
        op, vpath = body["op"], f"{path}.value"
        if op not in schema.VALUE_OPS:
            self.error(
                f"{path}.op",
                f"unknown operator {op!r} (expected one of {', '.join(schema.VALUE_OPS)})",
            )
            return
        if op in schema.PRESENCE_OPS:
            if "value" in body:
                self.error(vpath, f"{op} takes no value")
            return
        if "value" not in body:
            self.error(vpath, f"is required for {op}")
            return
        value = body["value"]
        if op in schema.SCALAR_OPS:
            if not _is_scalar(value):
                self.error(vpath, "must be a string, a number or true/false")
        elif op in schema.LIST_OPS:
            if (
                not isinstance(value, list)
                or not 0 < len(value) <= schema.MAX_LIST_VALUES
                or not all(_is_scalar(v) for v in value)
            ):
                self.error(
                    vpath,
                    f"must be a list of 1 to {schema.MAX_LIST_VALUES} strings, numbers "
                    "or true/false",
                )
        elif op in schema.CONTAINS_OPS:
            if not (isinstance(value, str) or _is_number(value)):
                self.error(vpath, "must be a string or a number")
        elif op in schema.NUMBER_OPS:
            if not _is_number(value):
                self.error(vpath, "must be a number")
        elif op in schema.RANGE_OPS:
            if not (
                isinstance(value, list)
                and len(value) == 2
                and all(_is_number(v) for v in value)
                and value[0] <= value[1]
            ):
                self.error(vpath, "must be [low, high]: two numbers, low <= high")
        elif op in schema.DATE_OPS:
            if not _is_date(value):
                self.error(
                    vpath, "must be an ISO-8601 date or time (2026-01-31 or 2026-01-31T12:00:00)"
                )
        elif op in schema.RELATIVE_DATE_OPS:
            self.integer(value, vpath, 1, schema.MAX_DAYS)


def _check_segment_refs(checker: _Checker, rules, workspace_id: int, segment_id) -> None:
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


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_scalar(value) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _is_date(value) -> bool:
    if not isinstance(value, str) or not schema.DATE_PREFIX.match(value):
        return False
    try:
        datetime.date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True
