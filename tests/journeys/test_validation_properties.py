"""Whatever JSON arrives as a definition, validation answers with path-named
errors (or accepts it): it never crashes, so the API never answers 500.

Definitions are generated near the real shape (known node types with fields
of every JSON type, edges to known and unknown nodes), which reaches each
node type's own checks; a crash there is what this finds.
"""

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from engage.journeys.nodes import NODE_TYPES
from engage.journeys.validation import InvalidDefinition, validate_definition

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NODE_IDS = st.sampled_from(["a", "b", "c", "done", "bad id", ""])
FIELDS = [
    "channel",
    "template",
    "category",
    "topic",
    "priority",
    "duration",
    "time",
    "days",
    "event",
    "where",
    "response_to",
    "timeout",
    "condition",
    "variants",
    "traits",
    "url",
    "body",
    "rungs",
    "order",
    "window",
]
scalars = st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=6)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from([*FIELDS, "days", "hours", "op", "value"]), inner, max_size=3
        )
    ),
    max_leaves=8,
)
edges = NODE_IDS | st.dictionaries(st.text(max_size=8), NODE_IDS, max_size=3) | json_values
nodes = st.fixed_dictionaries(
    {"type": st.sampled_from([*sorted(NODE_TYPES), "teleport"]) | json_values},
    optional={"next": edges, **{name: json_values for name in FIELDS}},
)
definitions = st.fixed_dictionaries(
    {"start": NODE_IDS | json_values, "nodes": st.dictionaries(NODE_IDS, nodes, max_size=4)},
    optional={
        "trigger": json_values | st.fixed_dictionaries({"event": json_values}),
        "entry": json_values,
        "goal": json_values,
        "exit": json_values,
    },
)


@PROPERTY_SETTINGS
@given(definition=definitions | json_values)
def test_any_definition_is_accepted_or_refused_with_path_named_errors(workspace, definition):
    note(repr(definition))
    try:
        validate_definition(definition, workspace=workspace.workspace)
    except InvalidDefinition as exc:
        assert exc.errors
        assert all(error.startswith("definition") and ": " in error for error in exc.errors)
