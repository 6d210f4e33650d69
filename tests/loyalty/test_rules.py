"""A rule that does not parse is refused, naming the field at fault."""

import pytest
from django.core.exceptions import ValidationError

from engage.loyalty.models import PointRule, Programme, TierRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme(workspace):
    return Programme.objects.create(workspace=workspace.workspace, name="Club")


def refused(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"event": "Order Completed", "points_per_unit": 1},
            {"property": ["is required with points_per_unit: the numeric property"]},
        ),
        (
            {"event": "Order Completed", "property": "revenue"},
            {"points_per_unit": ["is required with property"]},
        ),
        (
            {"event": "Order Completed", "property": "total price", "points_per_unit": 1},
            {"property": ["must be a name of letters, digits, '_' or '-' (dots for nesting)"]},
        ),
        (
            {"event": "Signed Up"},
            {"bonus": ["give points_per_unit with a property, a bonus, or both"]},
        ),
        ({"event": "Signed Up", "bonus": -5}, {"bonus": ["must be from 1 to 1000000"]}),
        (
            {"event": "Signed Up", "bonus": 5, "where": [{"property": "plan", "op": "is"}]},
            {"where": ["where[0].op: unknown operator 'is' (expected one of equals, "]},
        ),
        (
            {
                "event": "Signed Up",
                "bonus": 5,
                "where": [{"property": "age", "op": "gt", "value": "thirty"}],
            },
            {"where": ["where[0].value: must be a number"]},
        ),
        (
            {"event": "Signed Up", "bonus": 5, "where": {"plan": "pro"}},
            {"where": ["must be a list of at most 20 property filters"]},
        ),
    ],
    ids=[
        "rate-without-property",
        "property-without-rate",
        "property-with-a-space",
        "neither-rate-nor-bonus",
        "negative-bonus",
        "unknown-operator",
        "number-operator-on-text",
        "where-not-a-list",
    ],
)
def test_a_point_rule_that_does_not_parse_names_its_field(programme, fields, errors):
    found = refused(PointRule(programme=programme, **fields))

    assert set(found) == set(errors)
    for field, reasons in errors.items():
        assert found[field][0].startswith(reasons[0])


def test_a_tier_with_a_negative_threshold_is_refused(programme):
    found = refused(TierRule(programme=programme, name="gold", rank=1, threshold=-1))

    assert found == {"threshold": ["must be 0 or more"]}


def test_a_nested_spend_property_is_refused(programme):
    programme.spend_property = "order.total"

    assert list(refused(programme)) == ["spend_property"]
