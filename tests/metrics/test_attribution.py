import datetime as dt

import pytest

from engage.metrics.attribution import MODELS, attribution
from tests.customer_factories import ProfileFactory
from tests.metrics.dataset import END, START, at, did, sent


def credit(result, model: str) -> dict:
    return {row["key"]: row[model] for row in result.rows if row[model]}


def decay(*ages: float, half_life: float = 7.0) -> list[float]:
    weights = [0.5 ** (age / half_life) for age in ages]
    return [weight / sum(weights) for weight in weights]


def test_five_models_by_channel(shop):
    result = attribution(shop.workspace, start=START, end=END)
    # Conversions: Ann 15 Jan (100) after email m1 (5 days) and sms m2 (1 day);
    # Bob 10 Feb (200) after email m3 (2 days), webpush m4 (1 day), email m5
    # (18 hours). Unattributed: Ann 25 Jan (her messages are 11 days old),
    # Ann 5 Mar, Cy 4 Feb: 50 + 30 + 40.
    assert (result.conversions, result.revenue) == (5, 420)
    assert (result.unattributed, result.unattributed_revenue) == (3, 120)
    assert result.unattributed_share == 3 / 5

    assert credit(result, "first_touch") == {"email": 2}  # m1 and m3
    assert credit(result, "first_touch_revenue") == {"email": 300}
    assert credit(result, "last_touch") == {"sms": 1, "email": 1}  # m2 and m5
    assert credit(result, "linear") == pytest.approx(
        {"email": 1 / 2 + 2 / 3, "sms": 1 / 2, "webpush": 1 / 3}
    )
    # Ann's two touches share 50/50; Bob's three 40/20/40.
    assert credit(result, "position") == pytest.approx(
        {"email": 0.5 + 0.8, "sms": 0.5, "webpush": 0.2}
    )
    assert credit(result, "position_revenue") == pytest.approx(
        {"email": 50 + 160, "sms": 50, "webpush": 40}
    )
    ann = decay(5, 1)  # email, sms
    bob = decay(2, 1, 0.75)  # email, webpush, email
    assert credit(result, "time_decay") == pytest.approx(
        {"email": ann[0] + bob[0] + bob[2], "sms": ann[1], "webpush": bob[1]}
    )


@pytest.mark.parametrize("by", ["channel", "journey", "template"])
def test_credit_adds_up_to_the_conversions_and_revenue(shop, by):
    result = attribution(shop.workspace, start=START, end=END, by=by)
    for model in MODELS:
        credited = sum(row[model] for row in result.rows)
        revenue = sum(row[f"{model}_revenue"] for row in result.rows)
        assert credited + result.unattributed == pytest.approx(result.conversions, abs=1e-9)
        assert revenue + result.unattributed_revenue == pytest.approx(result.revenue, abs=1e-9)


def test_by_journey_and_template_from_message_provenance(shop):
    journeys = attribution(shop.workspace, start=START, end=END, by="journey")
    welcome = str(shop.welcome.pk)
    assert credit(journeys, "first_touch") == {welcome: 2}  # m1 and m3 are Welcome's
    assert credit(journeys, "last_touch") == {"": 2}  # m2 and m5 came from no journey
    assert {row["key"]: row["label"] for row in journeys.rows}[welcome] == "Welcome"

    templates = attribution(shop.workspace, start=START, end=END, by="template")
    assert credit(templates, "first_touch") == {str(shop.template.pk): 1, "": 1}


def test_window_and_half_life_are_options(shop):
    # Two weeks: Ann's 25 January order now has her sms (11 days before), not
    # her email (15 days before).
    wide = attribution(shop.workspace, start=START, end=END, window_days=14)
    assert wide.unattributed == 2
    assert credit(wide, "first_touch") == {"email": 2, "sms": 1}
    # A one-day half-life gives the 1-day-old sms more of Ann's 15 January order.
    short = attribution(shop.workspace, start=START, end=START.replace(day=20), half_life_days=1)
    assert credit(short, "time_decay") == pytest.approx(
        dict(zip(["email", "sms"], decay(5, 1, half_life=1), strict=False))
    )


def test_a_tiny_half_life_gives_all_to_the_newest_touch(shop):
    # 0.01 days: Ann's sms (1 day old) against her email (5 days): 2^-400 to 1.
    result = attribution(
        shop.workspace, start=START, end=START.replace(day=20), half_life_days=0.01
    )
    assert credit(result, "time_decay") == pytest.approx({"sms": 1.0})


def test_position_with_one_touch_and_with_four(shop):
    # In May, away from the shop's orders: Fay buys a day after one sms; Gil
    # after an email, a webpush, a whatsapp and an sms, a day apart.
    fay, gil = ProfileFactory(workspace=shop.workspace), ProfileFactory(workspace=shop.workspace)
    sent(fay, "sms", at(5, 1), "f1")
    did(fay, "Order Completed", at(5, 2), revenue=10)
    for day, channel in enumerate(["email", "webpush", "whatsapp", "sms"], start=10):
        sent(gil, channel, at(5, day), f"g{day}")
    did(gil, "Order Completed", at(5, 14), revenue=100)

    result = attribution(shop.workspace, start=dt.date(2025, 5, 1), end=dt.date(2025, 5, 31))
    # Fay's sms 100%; Gil's first and last 40% each, the two between 10% each.
    assert credit(result, "position") == pytest.approx(
        {"sms": 1 + 0.4, "email": 0.4, "webpush": 0.1, "whatsapp": 0.1}
    )
    assert credit(result, "position_revenue") == pytest.approx(
        {"sms": 10 + 40, "email": 40, "webpush": 10, "whatsapp": 10}
    )
