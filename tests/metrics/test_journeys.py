from engage.metrics.journeys import journeys
from tests.metrics.dataset import END, START


def test_journey_outcomes_and_node_completion(shop):
    result = journeys(shop.workspace, start=START, end=END)
    # Entered in the range: Ann (completed), Bob (converted), Cy (still in);
    # Dee entered 10 April.
    [row] = result.rows
    assert (row["entered"], row["active"], row["completed"], row["converted"]) == (3, 1, 1, 1)
    assert row["exited_condition"] == 0
    assert row["completion_rate"] == row["conversion_rate"] == 1 / 3
    # The node's running totals: 4 arrived, 3 left.
    [node] = result.nodes
    assert (node["node_id"], node["entered"], node["left"]) == ("hello", 4, 3)
    assert node["completion_rate"] == 3 / 4
    assert node["waiting"] == 1  # Cy stands there


def test_one_journey_by_id(shop):
    assert journeys(shop.workspace, start=START, end=END, journey=shop.welcome.pk).rows
    assert journeys(shop.workspace, start=START, end=END, journey=shop.welcome.pk + 1000).rows == []
