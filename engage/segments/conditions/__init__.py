"""The leaf conditions of a segment rule tree, one module per kind.

Each module holds everything about its kind, so a new condition is one file
plus a line here:

- ``KIND``: the node's key (``{"trait": {...}}``);
- ``validate(checker, body, path)``: report errors through ``checker``
  (``validation.Checker``), each naming the path of the bad field;
- ``to_sql(compiler, body)``: a two-valued SQL condition on profile ``p`` and
  its parameters, built with ``compiler.d`` (the SQL dialect), ``now``,
  ``workspace_id`` and ``per_profile`` (``compiler.Compiler``);
- ``describe(body, segment_names)``: the plain-language phrase;
- ``dependencies(body)``: what can change its answer (``schema.Dependencies``).

``and``/``or``/``not`` are the tree itself and stay in the walkers.
"""

from .. import schema
from . import consent, event, identity, score, segment, trait

CONDITIONS = {module.KIND: module for module in (trait, event, identity, consent, score, segment)}


def dependencies(rules: dict | None) -> schema.Dependencies:
    """What can change the answer of a validated tree (stored with the segment)."""
    found = schema.Dependencies(frozenset(), frozenset(), False, False)
    if rules:
        for node in schema.walk(rules):
            kind = schema.node_kind(node)
            if kind in CONDITIONS:
                found |= CONDITIONS[kind].dependencies(node[kind])
    return found
