"""Intent rules: counts in windows, property filters, the best rule wins."""

from engage.plugins.services import configure_plugin

from .helpers import compute, customer, did, scores


def test_default_rules(workspace):
    ws = workspace.workspace
    ready, browsing, reader, old = customer(ws), customer(ws), customer(ws), customer(ws)
    for days in (1.5, 1, 0.5):
        did(ready, "Pricing Viewed", days)
    did(ready, "Guide Downloaded", 1)
    # Three pricing views, but only two in the last two days: medium, not high.
    for days in (3, 1, 0.5):
        did(browsing, "Pricing Viewed", days)
    did(browsing, "Guide Downloaded", 1)
    did(reader, "Guide Downloaded", 1)
    did(old, "Pricing Viewed", 10)

    compute(ws, "intent")

    got = scores(ws, "intent")
    assert set(got) == {ready.pk, browsing.pk}
    assert (got[ready.pk].cell, got[ready.pk].value) == ("high", 90)
    assert got[ready.pk].components == {"rule": 0, "counts": [3, 1]}
    assert (got[browsing.pk].cell, got[browsing.pk].value) == ("medium", 60)
    assert got[browsing.pk].components == {"rule": 1, "counts": [3]}


def test_property_filters_and_best_score_first(workspace):
    ws = workspace.workspace
    configure_plugin(
        workspace=ws,
        plugin_id="intent",
        settings={
            "intent_rules": [
                {
                    "level": "warm",
                    "score": 40,
                    "all": [{"event": "Demo Requested", "within_days": 7}],
                },
                {
                    "level": "hot",
                    "score": 95,
                    "all": [
                        {
                            "event": "Demo Requested",
                            "within_days": 7,
                            "where": {"plan": "enterprise", "seats": 50, "trial": True},
                        }
                    ],
                },
            ]
        },
    )
    big, small, almost = customer(ws), customer(ws), customer(ws)
    did(big, "Demo Requested", 1, plan="enterprise", seats=50, trial=True)
    did(small, "Demo Requested", 1, plan="starter", seats=50, trial=True)
    did(almost, "Demo Requested", 1, plan="enterprise", seats="50", trial=True)

    compute(ws, "intent")

    got = scores(ws, "intent")
    assert got[big.pk].cell == "hot"
    assert got[small.pk].cell == "warm"
    assert got[almost.pk].cell == "warm"  # "50" is not 50


def test_no_rules_no_intent(workspace):
    ws = workspace.workspace
    configure_plugin(workspace=ws, plugin_id="intent", settings={"intent_rules": []})
    person = customer(ws)
    did(person, "Pricing Viewed", 0.5)

    compute(ws, "intent")

    assert scores(ws, "intent") == {}
