"""A bad rule tree is refused with the JSON path of the bad node and the reason."""

import pytest

from engage.segments.conditions import dependencies
from engage.segments.models import Segment
from engage.segments.validation import InvalidSegment, validate_rules

pytestmark = pytest.mark.django_db


def errors_of(rules, workspace_id, segment_id=None) -> list[str]:
    with pytest.raises(InvalidSegment) as caught:
        validate_rules(rules, workspace_id=workspace_id, segment_id=segment_id)
    return caught.value.errors


GOOD = {
    "and": [
        {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
        {"trait": {"key": "country", "op": "in", "value": ["FR", "DE"]}},
        {"trait": {"key": "tags", "op": "contains", "value": "vip"}},
        {"trait": {"key": "phone", "op": "exists"}},
        {"trait": {"key": "age", "op": "between", "value": [18, 65]}},
        {"trait": {"key": "signed_up_at", "op": "more_than_days_ago", "value": 30}},
        {"trait": {"key": "birthday", "op": "after", "value": "1990-01-01"}},
        {
            "event": {
                "name": "Order Completed",
                "where": [{"property": "total", "op": "gte", "value": 50}],
                "at_least": 2,
                "within_days": 30,
            }
        },
        {"not": {"event": {"name": "App Opened", "within_days": 14}}},
        {"event": {"name": "Signed Up", "occurrence": "first", "within_days": 7}},
        {"or": [{"identity": {"kind": "email"}}, {"identity": {"kind": "push_token"}}]},
        {"consent": {"channel": "email", "status": "opted_in"}},
        {"score": {"model": "ces", "op": "gte", "value": 70}},
        {"score": {"model": "rfm", "cell": ["champions", "loyal"]}},
    ]
}


def test_a_tree_using_every_condition_kind_is_valid(workspace):
    validate_rules(GOOD, workspace_id=workspace.workspace.pk)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([], "rules: must be an object with exactly one key"),
        ({"and": []}, "rules.and: must be a non-empty list of conditions"),
        ({"xor": [1]}, "rules: unknown condition 'xor'"),
        (
            {"and": [{"trait": {"key": "plan", "op": "equals", "value": "pro"}}, {"trait": {}}]},
            "rules.and[1].trait.key: is required",
        ),
        (
            {"trait": {"key": "plan", "op": "like", "value": "p%"}},
            "rules.trait.op: unknown operator 'like'",
        ),
        ({"trait": {"key": "a b", "op": "exists"}}, "rules.trait.key: must be a name"),
        ({"trait": {"key": "plan", "op": "exists", "value": 1}}, "rules.trait.value: exists takes"),
        ({"trait": {"key": "plan", "op": "equals"}}, "rules.trait.value: is required for equals"),
        ({"trait": {"key": "n", "op": "in", "value": []}}, "rules.trait.value: must be a list"),
        ({"trait": {"key": "n", "op": "gt", "value": "5"}}, "rules.trait.value: must be a number"),
        (
            {"trait": {"key": "n", "op": "between", "value": [5, 1]}},
            "rules.trait.value: must be [low, high]",
        ),
        (
            {"trait": {"key": "d", "op": "before", "value": "2026-13-45"}},
            "rules.trait.value: must be an ISO-8601 date",
        ),
        (
            {"trait": {"key": "d", "op": "more_than_days_ago", "value": -3}},
            "rules.trait.value: must be a positive integer",
        ),
        (
            {
                "or": [
                    {"trait": {"key": "a", "op": "exists"}},
                    {"event": {"name": "X", "within_days": "7d"}},
                ]
            },
            "rules.or[1].event.within_days: must be a positive integer",
        ),
        ({"event": {"name": ""}}, "rules.event.name: must be a non-empty string"),
        ({"event": {"name": "X", "did": "no"}}, "rules.event.did: must be true or false"),
        ({"event": {"name": "X", "when": 1}}, "rules.event.when: unknown field"),
        ({"event": {"name": "X", "where": {}}}, "rules.event.where: must be a list"),
        (
            {"event": {"name": "X", "where": [{"property": "total", "op": "gt"}]}},
            "rules.event.where[0].value: is required for gt",
        ),
        (
            {"event": {"name": "X", "at_least": 3, "at_most": 2}},
            "rules.event.at_most: must be at least at_least (3)",
        ),
        ({"event": {"name": "X", "at_least": 0}}, "rules.event.at_least: 0 needs at_most"),
        (
            {"event": {"name": "X", "within_days": 7, "older_than_days": 7}},
            "rules.event.older_than_days: must be less than within_days",
        ),
        (
            {"event": {"name": "X", "occurrence": "middle"}},
            "rules.event.occurrence: must be 'first' or 'last'",
        ),
        (
            {"event": {"name": "X", "occurrence": "last", "at_least": 2}},
            "rules.event.at_least: cannot be combined with occurrence",
        ),
        ({"identity": {"kind": "E-mail"}}, "rules.identity.kind: must be 'any' or an identifier"),
        (
            {"consent": {"channel": "email", "status": "maybe"}},
            "rules.consent.status: must be 'opted_in' or 'opted_out'",
        ),
        ({"consent": {"status": "opted_in"}}, "rules.consent.channel: is required"),
        (
            {"score": {"model": "rfm", "op": "gte", "value": "high"}},
            "rules.score.value: must be a number",
        ),
        ({"score": {"model": "rfm", "op": "equals", "value": 1}}, "rules.score.op: must be one of"),
        ({"score": {"model": "rfm"}}, "rules.score.op: is required (or give a cell)"),
        ({"score": {"model": "rfm", "cell": []}}, "rules.score.cell: must be a cell name"),
        ({"segment": {"id": "seg"}}, "rules.segment.id: must be a positive integer"),
        ({"segment": {"id": 999999}}, "rules.segment.id: no segment 999999 in this workspace"),
    ],
)
def test_bad_nodes_are_reported_with_their_path(workspace, rules, expected):
    errors = errors_of(rules, workspace.workspace.pk)
    assert any(e.startswith(expected) for e in errors), errors


def test_every_error_of_a_tree_is_reported(workspace):
    rules = {
        "and": [{"trait": {"key": "x", "op": "nope"}}, {"event": {"name": "X", "at_most": -1}}]
    }
    errors = errors_of(rules, workspace.workspace.pk)
    assert [e.split(":")[0] for e in errors] == [
        "rules.and[0].trait.op",
        "rules.and[1].event.at_most",
    ]


def test_depth_and_size_are_limited(workspace):
    deep = {"trait": {"key": "a", "op": "exists"}}
    for _ in range(15):
        deep = {"not": deep}
    assert any("nested deeper than 12 levels" in e for e in errors_of(deep, workspace.workspace.pk))
    wide = {"or": [{"trait": {"key": "a", "op": "exists"}}] * 250}
    assert any("at most 200 conditions" in e for e in errors_of(wide, workspace.workspace.pk))


def test_segment_references_stay_in_the_workspace_and_cannot_cycle(workspace, other_workspace):
    ws = workspace.workspace
    a = Segment.objects.create(
        workspace=ws, name="a", rules={"trait": {"key": "x", "op": "exists"}}
    )
    b = Segment.objects.create(workspace=ws, name="b", rules={"segment": {"id": a.pk}})
    foreign = Segment.objects.create(
        workspace=other_workspace.workspace, name="f", rules={"trait": {"key": "x", "op": "exists"}}
    )
    validate_rules({"segment": {"id": b.pk}}, workspace_id=ws.pk)
    assert errors_of({"segment": {"id": a.pk}}, ws.pk, segment_id=a.pk) == [
        "rules.segment.id: a segment cannot contain itself"
    ]
    # a -> b -> a
    assert errors_of({"segment": {"id": b.pk}}, ws.pk, segment_id=a.pk) == [
        f"rules.segment.id: segment {b.pk} refers back to this segment ({b.pk} → {a.pk})"
    ]
    assert errors_of({"segment": {"id": foreign.pk}}, ws.pk) == [
        f"rules.segment.id: no segment {foreign.pk} in this workspace"
    ]


def test_dependencies_name_the_events_traits_and_time_sensitivity():
    deps = dependencies(GOOD)
    assert deps.event_names == {"Order Completed", "App Opened", "Signed Up"}
    assert "plan" in deps.trait_keys and "signed_up_at" in deps.trait_keys
    assert deps.profile_data and deps.time_dependent
    static = dependencies({"event": {"name": "Signed Up"}})
    assert not static.time_dependent and not static.profile_data
    nested = dependencies({"trait": {"key": "address.city", "op": "equals", "value": "Lyon"}})
    assert nested.trait_keys == {"address"}
