"""The catalog API: bulk upsert by product id, keyset pages, one product,
and bad input answered 400 naming the JSON path with nothing stored."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from engage.catalog.models import Product

pytestmark = pytest.mark.django_db

URL = "/api/catalog/products"


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def api(workspace) -> APIClient:
    return client_for(workspace.secret_key)


def put(api, *products):
    return api.put(URL, {"products": list(products)}, format="json")


def test_upsert_creates_then_updates_only_the_fields_given(api, workspace):
    first = put(
        api,
        {"product_id": "sku-1", "title": "Runner", "price": "59.90", "category": "shoes"},
        {"product_id": "sku-2", "title": "Sock", "price": 4, "in_stock": False},
    )
    assert first.status_code == 200, first.json()
    assert first.json() == {"created": 2, "updated": 0}

    again = put(api, {"product_id": "sku-1", "in_stock": False, "url": "https://shop.example/1"})
    assert again.json() == {"created": 0, "updated": 1}

    runner = Product.objects.get(workspace=workspace.workspace, product_id="sku-1")
    assert (runner.title, runner.price, runner.category) == ("Runner", Decimal("59.90"), "shoes")
    assert (runner.in_stock, runner.url) == (False, "https://shop.example/1")
    read = api.get(f"{URL}/sku-1").json()
    assert read["title"] == "Runner" and read["in_stock"] is False


@pytest.mark.parametrize(
    ("product", "path", "reason"),
    [
        ({"title": "No id"}, "products[1].product_id", "required"),
        ({"product_id": ""}, "products[1].product_id", "blank"),
        ({"product_id": 7}, "products[1].product_id", "must be a string"),
        ({"product_id": "x", "price": "cheap"}, "products[1].price", "must be a number"),
        ({"product_id": "x", "price": -1}, "products[1].price", "must not be negative"),
        ({"product_id": "x", "price": 1.2345}, "products[1].price", "3 decimal places"),
        ({"product_id": "x", "url": "javascript:alert(1)"}, "products[1].url", "http or https"),
        ({"product_id": "x", "currency": "E1"}, "products[1].currency", "ISO 4217"),
        ({"product_id": "x", "in_stock": "yes"}, "products[1].in_stock", "true or false"),
    ],
    ids=[
        "missing-id",
        "blank-id",
        "number-id",
        "price-not-a-number",
        "negative-price",
        "price-decimals",
        "url-scheme",
        "currency",
        "in-stock-type",
    ],
)
def test_a_bad_product_is_named_by_its_path_and_nothing_is_stored(
    api, workspace, product, path, reason
):
    put(api, {"product_id": "kept", "title": "Before"})

    response = put(api, {"product_id": "kept", "title": "After"}, product)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [path], errors
    assert reason in errors[path][0]
    assert Product.objects.get(product_id="kept").title == "Before"


def test_a_body_without_products_is_refused(api):
    for body, path in (({}, "products"), ({"products": []}, "products")):
        response = api.put(URL, body, format="json")
        assert response.status_code == 400
        assert path in response.json()["errors"]


def test_list_pages_by_product_id_and_filters_by_category(api):
    put(api, *({"product_id": f"p{n}", "category": "odd" if n % 2 else "even"} for n in range(5)))

    first = api.get(URL, {"limit": 2}).json()
    assert [p["product_id"] for p in first["results"]] == ["p0", "p1"]
    second = api.get(first["next"]).json()
    assert [p["product_id"] for p in second["results"]] == ["p2", "p3"]
    odd = api.get(URL, {"category": "odd"}).json()
    assert [p["product_id"] for p in odd["results"]] == ["p1", "p3"]


def test_one_product_by_an_id_with_a_slash_and_deleting_it(api):
    put(api, {"product_id": "shoes/42", "title": "Runner"})

    assert api.get(f"{URL}/shoes/42").json()["title"] == "Runner"
    assert api.delete(f"{URL}/shoes/42").status_code == 204
    missing = api.get(f"{URL}/shoes/42")
    assert missing.status_code == 404
    assert "product_id" in missing.json()["detail"]


def test_another_workspaces_products_are_not_found(api, other_workspace):
    client_for(other_workspace.secret_key).put(
        URL, {"products": [{"product_id": "theirs"}]}, format="json"
    )
    assert api.get(f"{URL}/theirs").status_code == 404
    assert api.delete(f"{URL}/theirs").status_code == 404
    assert api.get(URL).json()["results"] == []
    assert Product.objects.filter(product_id="theirs").count() == 1
