"""Charts on other admin pages: a journey's funnel per node, a customer's
activity by channel; each a table the browser draws."""

import datetime as dt

import time_machine

from tests.dashboards.shop import DAY1, seed
from tests.dashboards.tables import chart_tables


def test_a_journeys_page_shows_its_funnel_per_node(admin_client, workspace, other_workspace):
    journey = seed(workspace.workspace, other_workspace.workspace)["journey"]

    page = admin_client.get(f"/admin/journeys/journey/{journey.pk}/change/").content.decode()

    # arrived, waiting now, left: in the order a walk from the start meets them
    assert chart_tables(page)[f"journey-{journey.pk}"] == [
        ["pause (wait)", "2", "1", "1"],
        ["done (exit)", "1", "0", "0"],
    ]


def test_a_customers_page_shows_recent_weeks_of_activity_by_channel(
    admin_client, workspace, other_workspace
):
    ann = seed(workspace.workspace, other_workspace.workspace)["ann"]

    with time_machine.travel(DAY1 + dt.timedelta(days=9), tick=False):
        page = admin_client.get(f"/admin/profiles/profile/{ann.pk}/change/").content.decode()

    # week of, then the events of each channel: email, web
    assert chart_tables(page)[f"profile-{ann.pk}"] == [
        ["2026-03-02", "0", "2"],
        ["2026-03-09", "1", "0"],
    ]
