"""Channel responsiveness: responses per delivery per channel, and the preferred channel."""

import pytest

from engage.plugins.services import configure_plugin

from .helpers import compute, customer, did, scores


def times(profile, name: str, n: int, days_ago: float = 5):
    for _ in range(n):
        did(profile, name, days_ago)


def test_preferred_channel_is_the_best_rate_with_enough_deliveries(workspace):
    ws = workspace.workspace
    texter, reader, newcomer = customer(ws), customer(ws), customer(ws)
    # email 3 responses / 4 deliveries; SMS 3 / 3: SMS wins.
    times(texter, "Email Delivered", 4)
    times(texter, "Email Opened", 2)
    times(texter, "Email Clicked", 1)
    times(texter, "SMS Delivered", 3)
    times(texter, "SMS Replied", 3)
    # SMS answered its only message, but one delivery is not enough evidence.
    times(reader, "Email Delivered", 5)
    times(reader, "Email Opened", 1)
    times(reader, "SMS Delivered", 1)
    times(reader, "SMS Replied", 1)
    # Two deliveries: no channel qualifies, so the workspace default.
    times(newcomer, "Web Push Delivered", 2)
    times(newcomer, "Web Push Clicked", 2)

    compute(ws, "responsiveness")

    got = scores(ws, "responsiveness")
    assert got[texter.pk].cell == "sms"
    assert got[texter.pk].value == pytest.approx(6 / 7)
    assert got[texter.pk].components == {
        "window_days": 60,
        "channels": {
            "email": {"delivered": 4, "responses": 3, "rate": 0.75},
            "sms": {"delivered": 3, "responses": 3, "rate": 1.0},
        },
    }
    assert got[reader.pk].cell == "email"
    assert got[reader.pk].value == pytest.approx(2 / 6)
    assert got[newcomer.pk].cell == "email"
    assert got[newcomer.pk].components["channels"] == {
        "webpush": {"delivered": 2, "responses": 2, "rate": 1.0}
    }


def test_window_min_deliveries_and_default_channel_are_per_workspace(workspace):
    ws = workspace.workspace
    configure_plugin(
        workspace=ws,
        plugin_id="responsiveness",
        settings={"responsiveness_window_days": 30, "min_delivered": 1, "default_channel": "sms"},
    )
    recent, lapsed = customer(ws), customer(ws)
    times(recent, "Email Delivered", 1, days_ago=10)
    times(recent, "Email Opened", 1, days_ago=9)
    times(recent, "Email Delivered", 5, days_ago=40)  # outside the 30-day window
    times(lapsed, "Email Delivered", 3, days_ago=45)
    times(lapsed, "Email Opened", 3, days_ago=44)

    compute(ws, "responsiveness")

    got = scores(ws, "responsiveness")
    assert set(got) == {recent.pk}
    assert got[recent.pk].cell == "email"
    assert got[recent.pk].value == 1.0
    assert got[recent.pk].components["channels"]["email"]["delivered"] == 1


def test_customers_without_any_delivery_fall_back_to_the_default(workspace):
    ws = workspace.workspace
    configure_plugin(
        workspace=ws, plugin_id="responsiveness", settings={"default_channel": "whatsapp"}
    )
    opener = customer(ws)
    times(opener, "Email Opened", 2)  # opened an older message

    compute(ws, "responsiveness")

    score = scores(ws, "responsiveness")[opener.pk]
    assert (score.value, score.cell) == (0, "whatsapp")
