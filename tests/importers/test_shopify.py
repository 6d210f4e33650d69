"""Shopify orders: read page by page through the ``Link`` header, and
received as signed webhooks, stored once whichever way they came."""

import base64
import copy
import hashlib
import hmac
import json
import time

import pytest

from engage.events.importing import run_import
from engage.events.models import Event
from engage.imports.models import ImportCursor
from engage.plugins.base import SettingsError
from engage.plugins.provider_http import SourceError
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity
from tests.channels.providers import Reply

from .providers import SHOPIFY_TOKEN

pytestmark = pytest.mark.django_db

# Shopify's documented example order (REST Admin API, Order resource).
ORDER = {
    "id": 450789469,
    "name": "#1001",
    "email": "bob.norman@mail.example.com",
    "phone": "+557734881234",
    "created_at": "2008-01-10T11:00:00-05:00",
    "updated_at": "2008-01-10T11:00:00-05:00",
    "processed_at": "2008-01-10T11:00:00-05:00",
    "currency": "USD",
    "total_price": "598.94",
    "subtotal_price": "597.00",
    "total_tax": "11.94",
    "total_discounts": "10.00",
    "financial_status": "partially_refunded",
    "cancelled_at": None,
    "cancel_reason": None,
    "checkout_id": 901414060,
    "customer": {
        "id": 207119551,
        "email": "bob.norman@mail.example.com",
        "first_name": "Bob",
        "last_name": "Norman",
        "phone": "+16136120707",
        "updated_at": "2008-01-10T11:00:00-05:00",
    },
    "line_items": [
        {
            "id": 466157049,
            "product_id": 632910392,
            "variant_id": 39072856,
            "sku": "IPOD2008GREEN",
            "title": "IPod Nano - 8gb",
            "variant_title": "green",
            "name": "IPod Nano - 8gb - green",
            "price": "199.00",
            "quantity": 1,
        }
    ],
    "refunds": [
        {
            "id": 509562969,
            "created_at": "2008-01-10T11:00:00-05:00",
            "processed_at": "2008-01-10T11:00:00-05:00",
            "transactions": [
                {"id": 179259969, "amount": "209.00", "kind": "refund", "status": "success"}
            ],
            "refund_line_items": [
                {
                    "id": 104689539,
                    "quantity": 1,
                    "line_item": {
                        "id": 703073504,
                        "product_id": 632910392,
                        "sku": "IPOD2008BLACK",
                        "title": "IPod Nano - 8gb",
                        "price": "199.00",
                        "quantity": 1,
                    },
                }
            ],
        }
    ],
}


def order(order_id: int, updated_at: str, **changes) -> dict:
    data = copy.deepcopy(ORDER)
    data.update(id=order_id, name=f"#{order_id}", updated_at=updated_at, refunds=[], **changes)
    return data


def seed(shopify):
    shopify.orders = [
        copy.deepcopy(ORDER),
        order(450789470, "2008-01-11T09:00:00-05:00"),
        order(
            450789471,
            "2008-01-12T09:00:00Z",
            cancelled_at="2008-01-12T08:59:00Z",
            cancel_reason="customer",
            customer=None,
            email="guest@mail.example.com",
        ),
    ]


def names(ws):
    return sorted(Event.objects.filter(workspace=ws).values_list("name", flat=True))


def test_orders_become_orders_refunds_and_cancellations_in_segment_names(
    shopify, workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    seed(shopify)
    with django_capture_on_commit_callbacks(execute=True):
        report = run_import(workspace=ws, plugin_id="shopify")

    # Bob's second order identifies him as he was: one identify for both.
    assert (report.stored, report.duplicates, report.invalid) == (7, 1, 0)
    first, second = shopify.requests
    assert first.path == "/admin/api/2025-07/orders.json"
    assert first.query == {"status": "any", "limit": "2"}
    assert first.headers["x-shopify-access-token"] == SHOPIFY_TOKEN
    assert set(second.query) == {"page_info", "limit"}  # the Link header's URL, as given

    completed = Event.objects.get(workspace=ws, message_id="shopify:order:450789469")
    assert completed.name == "Order Completed"
    assert completed.properties == {
        "order_id": "450789469",
        "checkout_id": "901414060",
        "total": 598.94,
        "revenue": 597.0,
        "tax": 11.94,
        "discount": 10.0,
        "currency": "USD",
        "products": [
            {
                "product_id": "632910392",
                "sku": "IPOD2008GREEN",
                "name": "IPod Nano - 8gb",
                "variant": "green",
                "price": 199.0,
                "quantity": 1,
            }
        ],
    }
    bob = Identity.objects.get(workspace=ws, kind="shopify", value="207119551").profile
    assert completed.profile_id == bob.pk
    assert ("email", "bob.norman@mail.example.com") in set(
        bob.identities.values_list("kind", "value")
    )
    refund = Event.objects.get(workspace=ws, name="Order Refunded")
    assert refund.properties["total"] == 209.0
    assert refund.properties["products"][0]["sku"] == "IPOD2008BLACK"
    cancelled = Event.objects.get(workspace=ws, name="Order Cancelled")
    assert cancelled.properties == {
        "order_id": "450789471",
        "total": 598.94,
        "currency": "USD",
        "reason": "customer",
    }
    guest = Identity.objects.get(workspace=ws, kind="email", value="guest@mail.example.com")
    assert cancelled.profile_id == guest.profile_id
    cursor = ImportCursor.objects.get(workspace=ws, importer_id="shopify").cursor
    assert cursor == {"updated_at_min": "2008-01-12T09:00:00Z"}


def test_the_next_run_reads_orders_updated_since_and_stores_each_once(shopify, workspace):
    ws = workspace.workspace
    seed(shopify)
    run_import(workspace=ws, plugin_id="shopify")
    shopify.requests.clear()

    again = run_import(workspace=ws, plugin_id="shopify")
    assert shopify.requests[0].query["updated_at_min"] == "2008-01-12T09:00:00Z"
    assert (again.read, again.stored) == (3, 0)  # the newest order, read again, stored once

    # A refund on an old order updates it: only the refund is new.
    refunded = order(450789470, "2008-02-01T10:00:00Z")
    refunded["refunds"] = copy.deepcopy(ORDER["refunds"])
    refunded["refunds"][0]["id"] = 509562970
    shopify.orders[1] = refunded
    third = run_import(workspace=ws, plugin_id="shopify")
    assert third.stored == 1
    assert names(ws).count("Order Refunded") == 2
    assert names(ws).count("Order Completed") == 3


def test_rate_limits_are_waited_out_and_a_failing_page_resumes_where_it_stopped(
    shopify, workspace, settings
):
    ws = workspace.workspace
    settings.ENGAGE_SOURCE_MAX_WAIT_SECONDS = 5
    seed(shopify)
    shopify.fail_next(
        429, {"errors": "Exceeded 2 calls per second for api client."}, {"Retry-After": "0.3"}
    )
    shopify.fail_next(503, {"errors": "Unavailable Shop"}, {"Retry-After": "0"})
    started = time.monotonic()
    run_import(workspace=ws, plugin_id="shopify")
    assert time.monotonic() - started >= 0.3  # Shopify's Retry-After was honoured
    assert len(Event.objects.filter(workspace=ws, name="Order Completed")) == 3

    Event.objects.all().delete()
    ImportCursor.objects.all().delete()
    settings.ENGAGE_SOURCE_MAX_WAIT_SECONDS = 0.01
    shopify.requests.clear()
    shopify.scripted.clear()
    # Page 1 answers, then page 2 fails every time: the run stops with the
    # error, page 1 stays stored, and the cursor points at page 2.
    original = shopify.handle

    def failing_second_page(req):
        if "page_info" in req.query:
            raise Reply(500, {"errors": "Internal Server Error"})
        return original(req)

    shopify.handle = failing_second_page
    with pytest.raises(
        SourceError, match=r"Shopify failed 5 times in a row at .*orders\.json: HTTP 500"
    ):
        run_import(workspace=ws, plugin_id="shopify")
    assert Event.objects.filter(workspace=ws, name="Order Completed").count() == 2
    cursor = ImportCursor.objects.get(workspace=ws, importer_id="shopify").cursor
    assert "page_info=" in cursor["next_page"]

    shopify.handle = original
    shopify.requests.clear()
    resumed = run_import(workspace=ws, plugin_id="shopify")
    assert "page_info" in shopify.requests[0].query  # from the page that failed
    assert resumed.stored == 2  # the last order's identify and Order Completed
    assert Event.objects.filter(workspace=ws, name="Order Completed").count() == 3
    assert ImportCursor.objects.get(workspace=ws, importer_id="shopify").cursor == {
        "updated_at_min": "2008-01-12T09:00:00Z"
    }


def test_a_refused_token_names_shopify_and_the_setting(shopify, workspace):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="shopify",
        settings={"shop_url": shopify.url, "access_token": "shpat_revoked"},
    )
    with pytest.raises(
        SourceError, match=r"Shopify refused the credentials .*access_token setting"
    ):
        run_import(workspace=workspace.workspace, plugin_id="shopify")


def test_settings_are_checked_field_by_field(workspace):
    with pytest.raises(SettingsError) as refused:
        configure_plugin(
            workspace=workspace.workspace,
            plugin_id="shopify",
            settings={
                "shop_url": "http://localhost:8000",
                "access_token": "x",
                "api_version": "latest",
                "updated_at_min": "last week",
                "page_size": 0,
            },
        )
    assert set(refused.value.errors) == {"shop_url", "api_version", "updated_at_min", "page_size"}


def signed_post(client, ws, body: bytes, *, key="hush", topic="orders/create", **headers):
    digest = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return client.post(
        f"/sources/{ws.pk}/shopify/",
        body,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC=topic,
        HTTP_X_SHOPIFY_HMAC_SHA256=headers.get("hmac", digest),
        HTTP_X_SHOPIFY_WEBHOOK_ID="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    )


def test_a_signed_order_webhook_is_stored_once_and_a_bad_signature_is_refused(
    shopify, workspace, client, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    body = json.dumps(ORDER).encode()

    for bad in ({"hmac": ""}, {"hmac": "bm90IHRoZSBzaWduYXR1cmU="}, {"key": "guess"}):
        answer = signed_post(client, ws, body, **bad)
        assert answer.status_code == 401
    assert not Event.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        answer = signed_post(client, ws, body)
    assert answer.status_code == 200
    assert answer.json()["stored"] == 3  # identify, Order Completed, Order Refunded
    redelivered = signed_post(client, ws, body, topic="orders/updated")
    assert redelivered.json()["stored"] == 0
    bob = Identity.objects.get(workspace=ws, kind="shopify", value="207119551").profile
    assert Event.objects.get(workspace=ws, name="Order Completed").profile_id == bob.pk

    # The importer reading the same order later stores nothing twice.
    shopify.orders = [copy.deepcopy(ORDER)]
    assert run_import(workspace=ws, plugin_id="shopify").stored == 0

    assert signed_post(client, ws, b"{not json").status_code == 400
    assert signed_post(client, ws, body, topic="products/create").status_code == 400


def test_webhooks_of_a_source_not_enabled_are_refused_like_a_bad_signature(
    shopify, workspace, other_workspace, client
):
    """The answer does not tell which workspaces have Shopify enabled."""
    body = json.dumps(ORDER).encode()
    not_enabled = signed_post(client, other_workspace.workspace, body)
    missing = signed_post(client, type(workspace.workspace)(pk=999_999), body)
    badly_signed = signed_post(client, workspace.workspace, body, key="guess")
    assert not_enabled.status_code == missing.status_code == badly_signed.status_code == 401
    assert not_enabled.json() == missing.json() == badly_signed.json()


def test_a_next_page_link_to_another_host_is_not_followed(shopify, workspace):
    seed(shopify)
    original = shopify.handle

    def elsewhere(req):
        status, body, headers = original(req)
        headers["Link"] = headers["Link"].replace(shopify.url, "https://collector.example")
        return status, body, headers

    shopify.handle = elsewhere
    with pytest.raises(SourceError, match="the next page's link leaves"):
        run_import(workspace=workspace.workspace, plugin_id="shopify")
    assert len(shopify.requests) == 1  # the token went nowhere else
