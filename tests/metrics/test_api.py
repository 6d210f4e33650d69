import csv
import io

import pytest

from engage.metrics.csv_export import to_csv
from engage.metrics.urls import METRICS
from tests.customer_factories import EventFactory
from tests.metrics.dataset import at

NAMES = [name for name, *_ in METRICS]
RANGE = {"start": "2025-01-01", "end": "2025-03-31"}


@pytest.fixture
def get(client, workspace):
    def call(path, params=None, key=None, **headers):
        return client.get(
            path,
            params or {},
            HTTP_AUTHORIZATION=f"Bearer {key or workspace.secret_key}",
            **headers,
        )

    return call


def test_a_metric_as_json(get, shop):
    response = get("/api/metrics/attribution", {**RANGE, "by": "journey"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["metric"], body["start"], body["end"]) == ("attribution", *RANGE.values())
    assert (body["conversions"], body["unattributed"]) == (5, 3)
    first = {row["label"]: row["first_touch"] for row in body["rows"]}
    assert first["Welcome"] == 2


def test_a_metric_as_csv_by_format_or_accept(get, shop):
    by_format = get("/api/metrics/retention", {**RANGE, "format": "csv"})
    by_accept = get("/api/metrics/retention", RANGE, HTTP_ACCEPT="text/csv")
    for response in (by_format, by_accept):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        # The January cohort: 2 customers, 2 / 1 / 1 active (test_retention).
        assert rows[0]["cohort"] == "2025-01-01"
        assert (rows[0]["active_0"], rows[0]["active_1"], rows[0]["active_2"]) == ("2", "1", "1")


def test_csv_cells_never_start_a_formula(get, workspace, shop):
    EventFactory(
        profile__workspace=workspace.workspace,
        name="Signed Up",
        timestamp=at(3, 1),
        context={"campaign": {"source": '=HYPERLINK("http://evil")'}},
    )
    response = get("/api/metrics/value", {**RANGE, "format": "csv"})
    sources = [row["key"] for row in csv.DictReader(io.StringIO(response.content.decode()))]
    assert '\'=HYPERLINK("http://evil")' in sources
    assert to_csv([{"a": "+1", "b": "-x", "c": "@x", "d": "\tx", "e": -1}]).splitlines()[1] == (
        "'+1,'-x,'@x,'\tx,-1"
    )


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("value", {"start": "2025-02-30"}, "start"),
        ("value", {"end": "yesterday"}, "end"),
        ("value", {"end": "20250101"}, "end"),
        ("value", {"start": ""}, "start"),
        ("retention", {"grain": "year"}, "grain"),
        ("retention", {"basis": "last_seen"}, "basis"),
        ("attribution", {"window_days": "0"}, "window_days"),
        ("attribution", {"half_life_days": "nan"}, "half_life_days"),
        ("attribution", {"by": "campaign"}, "by"),
        ("attribution", {"event": "x" * 201}, "event"),
        ("service", {"repeat_days": "seven"}, "repeat_days"),
        ("channels", {"format": "xlsx"}, "format"),
        ("journeys", {"journey": "-1"}, "journey"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(get, path, params, parameter):
    response = get(f"/api/metrics/{path}", params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [parameter]


def test_an_inverted_range_is_empty_not_an_error(get, shop):
    response = get("/api/metrics/attribution", {"start": "2025-03-31", "end": "2025-01-01"})
    assert response.status_code == 200
    assert response.json()["conversions"] == 0


@pytest.mark.parametrize("name", NAMES)
def test_every_metric_of_an_empty_workspace_is_zero(get, name):
    response = get(f"/api/metrics/{name}", RANGE)
    assert response.status_code == 200, response.json()
    body = response.json()
    numbers = [
        value
        for row in body["rows"]
        for key, value in row.items()
        if isinstance(value, int | float) and key not in ("lifetime_months",)
    ]
    assert not any(numbers), body


def test_another_workspace_sees_only_its_own(get, other_workspace, shop):
    # globex has one customer, Eve: 1,000 on 15 January after an email of 14 January.
    response = get("/api/metrics/attribution", RANGE, key=other_workspace.secret_key)
    body = response.json()
    assert (body["conversions"], body["revenue"]) == (1, 1000)
    assert [row["key"] for row in body["rows"]] == ["email"]
    value = get("/api/metrics/value", RANGE, key=other_workspace.secret_key).json()
    assert value["total"]["customers"] == 1


def test_a_key_is_required(client):
    assert client.get("/api/metrics/value").status_code == 401


def test_the_definition_is_in_the_schema(get):
    schema = get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/metrics/attribution"]["get"]
    assert "position" in operation["description"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("retention", {"grian": "week"}, "grian"),
        ("value", {"by": "journey"}, "by"),  # attribution's, not value's
        ("journeys", {"format": "csv", "part": "edges"}, "part"),
    ],
)
def test_a_parameter_the_metric_does_not_take_is_a_400(get, path, params, parameter):
    response = get(f"/api/metrics/{path}", params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [parameter]


def csv_of(get, path, **params) -> list[dict]:
    response = get(f"/api/metrics/{path}", {**RANGE, "format": "csv", **params})
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_csv_summary_keeps_the_headline_figures(get, shop):
    # test_attribution: 5 conversions, 3 of them without a touch.
    [attribution] = csv_of(get, "attribution", part="summary")
    assert (attribution["conversions"], attribution["unattributed_share"]) == ("5", "0.6")
    # test_purchases: Ann bought again 10 days later, of three first buyers.
    [purchases] = csv_of(get, "purchases", part="summary")
    assert (purchases["repeat_rate"], purchases["median_days"]) == (str(1 / 3), "10.0")
    # Revenue of the customers acquired Jan to Mar: 100 + 50 + 30 + 200 + 40.
    [value] = csv_of(get, "value", part="summary")
    assert (value["total_customers"], value["total_revenue"]) == ("4", "420.0")
    # Welcome's node "hello": 4 arrived, 3 left (test_journeys).
    [node] = csv_of(get, "journeys", part="nodes")
    assert (node["node_id"], node["entered"], node["left"]) == ("hello", "4", "3")
    assert (
        get("/api/metrics/journeys", {"format": "csv", "part": "nodes"})["Content-Disposition"]
        == 'attachment; filename="journeys-nodes.csv"'
    )
