import datetime as dt

from engage.metrics.retention import dormant, retention
from tests.metrics.dataset import END, START


def table(result) -> dict:
    return {row["cohort"]: (row["size"], row["active"]) for row in result.rows}


def test_monthly_retention_by_first_activity(shop):
    # Active months: Ann Jan, Mar; Bob Jan, Feb; Cy Feb (Apr is after the
    # range); Dee Feb, Mar (her January delivery is engage's own event).
    result = retention(shop.workspace, start=START, end=END)
    assert table(result) == {
        "2025-01-01": (2, [2, 1, 1]),  # Ann and Bob; Bob in Feb; Ann in Mar
        "2025-02-01": (2, [2, 1]),  # Cy and Dee; Dee in Mar
    }
    assert result.rows[0]["rates"] == [1.0, 0.5, 0.5]


def test_monthly_retention_by_first_purchase_on_purchases(shop):
    # First purchases: Ann 15 Jan, Bob 10 Feb, Cy 4 Feb; Ann buys again in
    # Jan and Mar, Cy in April (after the range).
    result = retention(
        shop.workspace, start=START, end=END, basis="first_purchase", activity="purchase"
    )
    assert table(result) == {
        "2025-01-01": (1, [1, 0, 1]),
        "2025-02-01": (2, [2, 0]),
    }


def test_weekly_cohorts_start_on_monday(shop):
    # Week of Monday 3 Feb: Cy (3 Feb); she is back in the week of 31 Mar (4 Apr).
    result = retention(
        shop.workspace, start=dt.date(2025, 2, 3), end=dt.date(2025, 4, 6), grain="week"
    )
    cy = table(result)["2025-02-03"]
    assert cy[0] == 1
    assert cy[1][0] == 1 and cy[1][8] == 1 and sum(cy[1]) == 2  # 31 Mar is 8 weeks later


def test_dormant_share_at_each_month_end(shop):
    # Last activity: Ann 5 Mar, Bob 12 Feb, Cy 4 Apr, Dee 10 Mar; dormant
    # after 120 days without any.
    result = dormant(shop.workspace, start=dt.date(2025, 6, 1), end=dt.date(2025, 8, 31))
    shares = {row["at"]: (row["dormant"], row["customers"]) for row in result.rows}
    assert shares == {
        "2025-06-30": (1, 4),  # 120 days before is 2 Mar: Bob only
        "2025-07-31": (3, 4),  # 2 Apr: Ann, Bob, Dee
        "2025-08-31": (4, 4),  # 3 May: everyone
    }
