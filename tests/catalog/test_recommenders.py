"""Each built-in recommender on the hand-worked shop of ``dataset``, and the
exclusions engage applies to whatever a recommender answers."""

import pytest

from engage.catalog.copurchase import compute_copurchases
from engage.catalog.models import CoPurchase
from engage.catalog.recommending import enabled_recommenders, recommend
from engage.plugins import Recommender, hookimpl
from engage.plugins.services import configure_plugin

from . import dataset


@pytest.fixture
def shop(workspace):
    people = dataset.build(workspace.workspace)
    compute_copurchases(workspace.workspace)
    return workspace.workspace, people


def ids(found, people) -> dict[str, list[str]]:
    return {
        name: [item["id"] for item in found.get(profile.pk, [])] for name, profile in people.items()
    }


def test_copurchase_counts_each_pair_of_an_order_both_ways(shop):
    workspace, _ = shop
    pairs = {
        (row.product_id, row.other_id): row.orders
        for row in CoPurchase.objects.filter(workspace=workspace)
    }
    assert pairs == {
        ("A", "B"): 2,
        ("B", "A"): 2,
        ("A", "C"): 1,
        ("C", "A"): 1,
        ("A", "D"): 1,
        ("D", "A"): 1,
        ("B", "E"): 1,
        ("E", "B"): 1,
    }


def test_recomputing_replaces_the_counts(shop):
    workspace, _ = shop
    assert compute_copurchases(workspace) == 8
    assert CoPurchase.objects.filter(workspace=workspace).count() == 8


@pytest.mark.parametrize("recommender_id", sorted(dataset.EXPECTED))
def test_recommender_on_the_hand_worked_shop(shop, recommender_id):
    workspace, people = shop
    recommender = enabled_recommenders(workspace)[recommender_id]
    found = recommend(workspace, list(people.values()), recommender)
    expected = {name: dataset.EXPECTED[recommender_id].get(name, []) for name in people}
    assert ids(found, people) == expected


def test_a_limit_keeps_the_best(shop):
    workspace, people = shop
    recommender = enabled_recommenders(workspace)["bought_together"]
    found = recommend(workspace, [people["erin"]], recommender, limit=1)
    assert [item["id"] for item in found[people["erin"].pk]] == ["B"]


def test_products_come_with_what_a_template_shows(shop):
    workspace, people = shop
    recommender = enabled_recommenders(workspace)["bought_together"]
    [first, _] = recommend(workspace, [people["erin"]], recommender)[people["erin"].pk]
    assert first == {
        "id": "B",
        "title": "Product B",
        "url": "https://shop.example/B",
        "image": "https://shop.example/B.jpg",
        "price": "19.90",
        "currency": "EUR",
        "category": "shoes",
    }


def test_a_window_setting_is_read_per_workspace(shop):
    workspace, people = shop
    configure_plugin(workspace=workspace, plugin_id="recently_viewed", settings={"days": 150})
    recommender = enabled_recommenders(workspace)["recently_viewed"]
    found = recommend(workspace, [people["dave"]], recommender)
    assert [item["id"] for item in found[people["dave"].pk]] == ["C", "A", "B"]


def test_a_disabled_recommender_is_not_offered(shop):
    workspace, _ = shop
    configure_plugin(workspace=workspace, plugin_id="bought_together", settings={}, enabled=False)
    assert "bought_together" not in enabled_recommenders(workspace)
    assert "recently_viewed" in enabled_recommenders(workspace)


class Careless(Recommender):
    """Answers everything: unknown, out-of-stock, bought and repeated products."""

    id = "careless"
    name = "Careless"

    def recommend(self, *, workspace, profiles, limit):
        return {profile.pk: ["nope", "D", "A", "E", "E", "C"] for profile in profiles}


@hookimpl
def engage_recommenders():
    return [Careless]


def test_engage_drops_unknown_out_of_stock_bought_and_repeated_products(shop, register_plugin):
    import sys

    register_plugin(sys.modules[__name__], "test-careless")
    workspace, people = shop
    recommender = enabled_recommenders(workspace)["careless"]
    found = recommend(workspace, [people["erin"], people["carol"]], recommender)
    assert ids(found, {"erin": people["erin"], "carol": people["carol"]}) == {
        "erin": ["E", "C"],  # bought A
        "carol": ["C"],  # bought A and E
    }


def test_the_nightly_task_counts_every_workspace_that_has_not_turned_it_off(
    workspace, other_workspace, settings
):
    from engage.catalog import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = True
    dataset.build(workspace.workspace)
    dataset.build(other_workspace.workspace)
    configure_plugin(
        workspace=other_workspace.workspace,
        plugin_id="bought_together",
        settings={},
        enabled=False,
    )

    assert tasks.compute_all_copurchases() == 1
    assert CoPurchase.objects.filter(workspace=workspace.workspace).count() == 8
    assert not CoPurchase.objects.filter(workspace=other_workspace.workspace).exists()
