"""``split``: customers are divided by percentage, each always into the same
variant, and the ledger says which."""

import pytest

from engage.journeys import engine
from engage.journeys.models import Enrollment
from engage.journeys.nodes import split
from tests.customer_factories import ProfileFactory

from .factories import live_journey
from .walking import T0, counts, enroll, errors, ledger


def ab(variants: dict) -> dict:
    return {
        "trigger": {"manual": True},
        "start": "ab",
        "nodes": {
            "ab": {"type": "split", "variants": variants, "next": {"a": "a_end", "b": "b_end"}},
            "a_end": {"type": "exit"},
            "b_end": {"type": "exit"},
        },
    }


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        ({"a": 30, "b": 70}, []),
        ({"a": 50, "b": 40}, ["nodes.step.variants: the percentages must add up to 100, not 90"]),
        (
            {"a": 50.5, "b": 49.5},
            [
                "nodes.step.variants.a: must be an integer from 0 to 100",
                "nodes.step.variants.b: must be an integer from 0 to 100",
            ],
        ),
        (
            {"a": 120, "b": -20},
            [
                "nodes.step.variants.a: must be an integer from 0 to 100",
                "nodes.step.variants.b: must be an integer from 0 to 100",
            ],
        ),
        (
            {"a b": 100},
            ["nodes.step.variants.a b: must be named with 1 to 64 letters, digits, '_' or '-'"],
        ),
        ({}, ["nodes.step.variants: must be an object of variant names to percentages"]),
        ([50, 50], ["nodes.step.variants: must be an object of variant names to percentages"]),
    ],
    ids=["valid", "sum-90", "fractions", "out-of-range", "bad-name", "empty", "list"],
)
def test_validation_names_the_field(variants, expected):
    assert errors(split, {"variants": variants}) == expected


def test_the_outcomes_are_the_variant_names():
    assert split.outcomes({"variants": {"control": 50, "treatment": 50}}) == (
        "control",
        "treatment",
    )


@pytest.mark.django_db
def test_customers_are_split_by_percentage_and_keep_their_variant(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, ab({"a": 30, "b": 70}))
    profiles = ProfileFactory.create_batch(200, workspace=ws)

    earlier = enroll(journey, profiles)
    engine.advance(now=T0)
    first = dict(Enrollment.objects.filter(journey=journey).values_list("profile_id", "node_id"))
    shares = counts(journey)
    assert shares[("ab", "a")] + shares[("ab", "b")] == 200
    assert 40 <= shares[("ab", "a")] <= 80  # 30% of 200, give or take chance

    # They come back (re-entry): each lands where it did the first time.
    again = enroll(journey, profiles)
    engine.advance(now=T0)
    second = Enrollment.objects.filter(journey=journey).exclude(pk__in=[e.pk for e in earlier])
    assert dict(second.values_list("profile_id", "node_id")) == first

    variant = first[again[0].profile_id][0]
    assert ledger(again[0]) == [("split", variant, "ab"), ("exit", "completed", f"{variant}_end")]


@pytest.mark.django_db
def test_a_variant_at_zero_gets_nobody(workspace):
    ws = workspace.workspace
    journey = live_journey(ws, ab({"a": 0, "b": 100}))
    enroll(journey, ProfileFactory.create_batch(20, workspace=ws))

    engine.advance(now=T0)

    assert counts(journey)[("ab", "b")] == 20
    assert ("ab", "a") not in counts(journey)
