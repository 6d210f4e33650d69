"""Each condition kind is one module that holds all of it, and the rule-tree
table in docs/segments.md lists exactly the kinds engage accepts."""

import re
from pathlib import Path

from engage.segments import schema
from engage.segments.conditions import CONDITIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "segments.md"


def test_every_condition_module_has_its_kind_and_the_four_parts():
    for kind, module in CONDITIONS.items():
        assert kind == module.KIND
        for part in ("validate", "to_sql", "describe", "dependencies"):
            assert callable(getattr(module, part, None)), f"{kind} has no {part}"


def test_the_rule_tree_table_lists_every_accepted_node_kind():
    table = DOC.read_text().split("## The rule tree", 1)[1].split("\n#", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)
    assert documented == [*schema.GROUP_KINDS, schema.NOT, *CONDITIONS]
