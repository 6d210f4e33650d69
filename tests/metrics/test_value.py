import pytest

from engage.metrics.value import value
from tests.metrics.dataset import END, START


def by_group(result) -> dict:
    return {(row["group"], row["key"]): row for row in result.rows}


def test_value_by_cohort_source_and_first_channel(shop):
    result = value(shop.workspace, start=START, end=END)
    rows = by_group(result)

    # January: Ann (100 + 50 + 30 = 180, 3 orders) and Bob (200, 1 order).
    january = rows[("cohort", "2025-01-01")]
    assert (january["customers"], january["purchasers"], january["orders"]) == (2, 2, 4)
    assert january["revenue"] == 380
    assert january["revenue_per_customer"] == 190  # 380 / 2
    assert january["average_order_value"] == 95  # 380 / 4
    assert january["months_observed"] == 3  # January to March
    assert january["purchase_frequency"] == pytest.approx(4 / 2 / 3)
    assert january["predicted_ltv"] == pytest.approx(95 * (4 / 2 / 3) * 36)  # 2280
    # February: Cy (40 by 31 March; her 4 April order is after the range)
    # and Dee, whose "Email Delivered" of 5 January is engage's, not hers.
    february = rows[("cohort", "2025-02-01")]
    assert (february["customers"], february["orders"], february["revenue"]) == (2, 1, 40)
    assert february["predicted_ltv"] == pytest.approx(40 * (1 / 2 / 2) * 36)  # 360

    assert rows[("source", "google")]["revenue"] == 180
    assert rows[("source", "newsletter")]["revenue"] == 200
    assert rows[("source", "")]["customers"] == 2  # Cy and Dee came without a campaign
    assert rows[("channel", "web")]["customers"] == 3  # Ann, Cy, Dee
    assert rows[("channel", "web")]["revenue"] == 220  # 180 + 40
    assert rows[("channel", "ios")]["revenue"] == 200

    assert result.total["customers"] == 4
    assert result.total["revenue"] == 420
    assert result.total["revenue_per_customer"] == 105  # 420 / 4


def test_customers_acquired_before_the_range_are_not_in_it(shop):
    # From February on: Cy and Dee only; Ann and Bob were first seen in January.
    result = value(shop.workspace, start=START.replace(month=2), end=END)
    assert result.total["customers"] == 2
    assert result.total["revenue"] == 40


def test_a_requested_purchase_event_and_revenue_property(shop):
    # "Signed Up" as the goal: Ann, Bob, Dee one each, no revenue property.
    result = value(shop.workspace, start=START, end=END, event="Signed Up")
    assert result.total["orders"] == 3
    assert result.total["revenue"] == 0
