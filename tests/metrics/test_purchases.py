from engage.metrics.purchases import purchases
from tests.metrics.dataset import END, START


def test_repeat_rate_time_to_second_purchase_and_frequency(shop):
    result = purchases(shop.workspace, start=START, end=END)
    # First purchases in the range: Ann, Bob, Cy. Only Ann bought again by
    # 31 March (10 days later); Cy's second is 4 April.
    assert (result.buyers, result.repeat_buyers) == (3, 1)
    assert result.repeat_rate == 1 / 3
    assert result.median_days == 10.0
    assert {row["bucket"]: row["repeat_buyers"] for row in result.rows} == {
        "0-7": 0,
        "7-30": 1,
        "30-60": 0,
        "60-90": 0,
        "90-180": 0,
        "over 180": 0,
    }
    # Five orders (Ann 3, Bob 1, Cy 1) by three customers.
    assert (result.orders, result.purchasers) == (5, 3)
    assert result.purchase_frequency == 5 / 3


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(shop):
    # Through April Cy's second purchase counts too: 59 days (4 Feb to 4 Apr).
    result = purchases(shop.workspace, start=START, end=END.replace(month=4, day=30))
    assert result.repeat_buyers == 2
    assert result.median_days == (10 + 59) / 2
