"""How deeply nested a JSON document engage accepts, on ``/v1`` and ``/api`` alike.

Python's ``json`` decoder and encoder and Django's ``JSONField`` recurse once
per level: a document nested about a thousand levels deep raises
``RecursionError`` while parsing, while loading the stored row, or while
rendering it, and how deep is too deep depends on the stack in use at the
time. A document that was accepted must stay readable everywhere, so
documents are refused at the door when they nest deeper than ``MAX_DEPTH``,
a limit far below any stack and far above any real event or API body.
"""

import json

MAX_DEPTH = 64


class TooDeep(ValueError):
    """The document nests deeper than the limit."""

    def __init__(self, limit: int = MAX_DEPTH):
        super().__init__(f"nested deeper than {limit} levels")


def check_depth(value, limit: int = MAX_DEPTH) -> None:
    """Raise ``TooDeep`` if ``value`` nests objects and arrays deeper than ``limit``.

    Iterative, so that it cannot itself run out of stack. A scalar is depth 0,
    ``{}`` and ``[]`` depth 1.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise TooDeep(limit)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def may_be_too_deep(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text could nest deeper than ``limit``: it opens more containers.

    Two substring counts, so the common small document skips the walk.
    """
    if isinstance(text, str):
        return text.count("[") + text.count("{") > limit
    return text.count(b"[") + text.count(b"{") > limit


def loads(text: str | bytes, limit: int = MAX_DEPTH, **kwargs):
    """``json.loads`` that refuses documents nested deeper than ``limit`` with ``TooDeep``."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise TooDeep(limit) from None
    if may_be_too_deep(text, limit):
        check_depth(value, limit)
    return value
