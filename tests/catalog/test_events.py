"""Catalog events tracked through the events pipeline change the catalog,
when the operator turned them on."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from engage.catalog.models import Product
from engage.events.processing import process_pending
from tests.identity_helpers import T0, pending_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def track(workspace, django_capture_on_commit_callbacks):
    """Track events from the brand's server, then process them all at once."""

    def run(*events):
        with django_capture_on_commit_callbacks(execute=True):
            for minutes, name, properties in events:
                pending_event(
                    workspace.workspace,
                    user_id="catalog-feed",
                    name=name,
                    properties=properties,
                    at=T0 + dt.timedelta(minutes=minutes),
                )
            process_pending()

    return run


def products(workspace) -> dict[str, tuple]:
    return {
        p.product_id: (p.title, p.price, p.image, p.in_stock)
        for p in Product.objects.filter(workspace=workspace.workspace)
    }


@override_settings(ENGAGE_CATALOG_EVENTS=True)
def test_updates_and_deletes_apply_in_time_order(workspace, track):
    track(
        # Segment's spec names the title ``name`` and the picture ``image_url``.
        (1, "Product Updated", {"product_id": "A", "name": "Runner", "price": 59.9,
                                "image_url": "https://shop.example/a.jpg"}),
        (2, "Product Updated", {"product_id": "B", "name": "Sock"}),
        (3, "Product Updated", {"product_id": "A", "in_stock": False}),
        (4, "Product Deleted", {"product_id": "B"}),
    )  # fmt: skip
    assert products(workspace) == {
        "A": ("Runner", Decimal("59.9"), "https://shop.example/a.jpg", False)
    }

    # A late event, older than the product's last change, changes nothing.
    track((0, "Product Updated", {"product_id": "A", "name": "Old name", "in_stock": True}))
    assert products(workspace)["A"][0] == "Runner"


@override_settings(ENGAGE_CATALOG_EVENTS=True)
def test_an_event_with_a_bad_field_changes_nothing(workspace, track):
    track((1, "Product Updated", {"product_id": "A", "name": "Runner", "price": 10}))
    track(
        (2, "Product Updated", {"product_id": "A", "name": "Changed", "price": "cheap"}),
        (3, "Product Updated", {"name": "No id"}),
    )
    assert products(workspace) == {"A": ("Runner", Decimal("10"), "", True)}


def test_catalog_events_are_off_by_default(workspace, track):
    track((1, "Product Updated", {"product_id": "A", "name": "Phishing", "price": 1}))
    assert products(workspace) == {}
