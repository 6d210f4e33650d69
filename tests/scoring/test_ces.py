"""Customer Engagement Score: components computed by hand, weights per workspace."""

import pytest

from engage.plugins.services import configure_plugin

from .helpers import compute, customer, did, scores


@pytest.fixture
def pair(workspace):
    ws = workspace.workspace
    buyer, browser = customer(ws), customer(ws)
    did(buyer, "Order Completed", 30, revenue=100)
    did(buyer, "Product Viewed", 30)
    did(buyer, "Email Delivered", 20)
    did(buyer, "Email Opened", 18)  # last activity: 18 days ago
    did(browser, "Product Viewed", 6)
    did(browser, "SMS Delivered", 5)  # deliveries are not the customer's doing
    did(browser, "Email Delivered", 5)
    return buyer, browser


def test_components_and_total(workspace, pair):
    buyer, browser = pair

    compute(workspace.workspace, "ces")

    got = scores(workspace.workspace, "ces")
    b = got[buyer.pk].components
    assert b["days_since_activity"] == pytest.approx(18)
    assert b["recency"] == pytest.approx(1 - 18 / 120)
    assert b["activity_events"] == 3
    assert b["frequency"] == pytest.approx(1.0)  # the most active of two
    assert b["breadth"] == pytest.approx(0.5)  # responded on email; workspace sends email and SMS
    assert b["monetary"] == pytest.approx(1.0)
    assert b["response_rate"] == pytest.approx(1.0)
    assert got[buyer.pk].value == pytest.approx(
        (25 * 0.85 + 25 * 1.0 + 10 * 0.5 + 20 * 1.0 + 20 * 1.0) / 100 * 100
    )
    w = got[browser.pk].components
    assert w["recency"] == pytest.approx(1 - 6 / 120)
    assert w["frequency"] == pytest.approx(0.5)
    assert (w["breadth"], w["monetary"], w["response_rate"]) == (0, 0, 0)
    assert got[browser.pk].value == pytest.approx(25 * 0.95 + 25 * 0.5)


def test_weights_change_the_total_not_the_components(workspace, pair):
    buyer, browser = pair
    configure_plugin(
        workspace=workspace.workspace, plugin_id="ces", settings={"ces_weights": {"recency": 3}}
    )

    compute(workspace.workspace, "ces")

    got = scores(workspace.workspace, "ces")
    assert got[buyer.pk].value == pytest.approx(85.0)
    assert got[browser.pk].value == pytest.approx(95.0)
    assert got[buyer.pk].components["monetary"] == pytest.approx(1.0)


def test_recency_reaches_zero_at_the_dormancy_threshold(workspace):
    ws = workspace.workspace
    gone = customer(ws)
    did(gone, "Product Viewed", 150)

    compute(ws, "ces")

    score = scores(ws, "ces")[gone.pk]
    assert score.components["recency"] == 0
    assert score.components["frequency"] == 0  # nothing in the window
    assert score.value == 0
