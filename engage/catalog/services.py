"""Writing the catalog: upserts by the brand's product id, deletes, and the
catalog events that carry either.

Every door (the API, a CSV file, an event) cleans its products with
``validation.clean_product`` and writes them here in bulk: one statement per
set of fields given, however many products, so a 100,000-row file costs
a few hundred statements rather than a query per row.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from engage.events.models import Event
from engage.events.signals import RecordedEvent
from engage.workspaces.models import Workspace

from .models import Product
from .validation import FIELDS, clean_product

logger = logging.getLogger(__name__)

PRODUCT_UPDATED = "Product Updated"
PRODUCT_DELETED = "Product Deleted"
CATALOG_EVENTS = (PRODUCT_UPDATED, PRODUCT_DELETED)

# Segment's spec names a product's title ``name`` and its picture ``image_url``.
EVENT_ALIASES = {"name": "title", "image_url": "image"}


@dataclass(frozen=True)
class Upserted:
    created: int
    updated: int


def upsert_products(
    *, workspace: Workspace, products: list[dict], at: datetime | None = None
) -> Upserted:
    """Create or update ``products`` (cleaned: ``product_id`` and any of
    ``FIELDS``) by product id. A field left out keeps its stored value (its
    default on a new product); the same id twice in one call is one product
    with the later fields winning. ``updated_at`` is ``at`` (now by default)
    unless a product gives its own (the time of the event that changed it)."""
    at = at or timezone.now()
    merged: dict[str, dict] = {}
    for product in products:
        merged.setdefault(product["product_id"], {}).update(product)
    if not merged:
        return Upserted(0, 0)
    by_fields: dict[tuple[str, ...], list[Product]] = {}
    for fields in merged.values():
        given = tuple(name for name in FIELDS if name in fields)
        by_fields.setdefault(given, []).append(
            Product(workspace=workspace, **{"updated_at": at, **fields})
        )
    with transaction.atomic():
        existing = set(
            Product.objects.filter(workspace=workspace, product_id__in=list(merged)).values_list(
                "product_id", flat=True
            )
        )
        for given, rows in by_fields.items():
            Product.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["workspace", "product_id"],
                update_fields=[*given, "updated_at"],
                batch_size=1000,
            )
    return Upserted(created=len(merged) - len(existing), updated=len(existing))


def delete_products(*, workspace: Workspace, product_ids: list[str]) -> int:
    """Remove the products; returns how many there were."""
    deleted, _ = Product.objects.filter(workspace=workspace, product_id__in=product_ids).delete()
    return deleted


def apply_catalog_events(events: list[RecordedEvent]) -> None:
    """``Product Updated`` and ``Product Deleted`` events applied to the catalog.

    Off unless ``ENGAGE_CATALOG_EVENTS``: a write key ships inside web pages
    and apps, so anyone who reads it could otherwise rewrite the links and
    prices the brand's messages show. Events are applied in time order per
    product, and one older than the product's last change is ignored (a late
    event must not undo a newer one); an event with a bad field is logged and
    changes nothing.
    """
    ids = [event.id for event in events if event.name in CATALOG_EVENTS]
    if not ids or not settings.ENGAGE_CATALOG_EVENTS:
        return
    rows = (
        Event.objects.filter(id__in=ids)
        .order_by("timestamp", "id")
        .values_list("id", "workspace_id", "name", "timestamp", "properties")
    )
    # (workspace id, product id) → None for a delete, else the fields and the time
    latest: dict[tuple[int, str], tuple[dict | None, datetime]] = {}
    for event_id, workspace_id, name, timestamp, properties in rows:
        fields = _event_fields(properties if isinstance(properties, dict) else {})
        cleaned, errors = clean_product(fields)
        if errors:
            logger.warning("catalog event %s ignored: %s", event_id, errors)
            continue
        key = (workspace_id, cleaned["product_id"])
        if name == PRODUCT_DELETED:
            latest[key] = (None, timestamp)
        else:
            before = latest.get(key, ({}, timestamp))[0] or {}
            latest[key] = ({**before, **cleaned}, timestamp)
    _apply_latest(latest)


def _event_fields(properties: dict) -> dict:
    fields = {key: value for key, value in properties.items() if key in FIELDS}
    for alias, name in EVENT_ALIASES.items():
        if alias in properties and name not in fields:
            fields[name] = properties[alias]
    if "product_id" in properties:
        fields["product_id"] = properties["product_id"]
    return fields


def _apply_latest(latest: dict[tuple[int, str], tuple[dict | None, datetime]]) -> None:
    by_workspace: dict[int, dict[str, tuple[dict | None, datetime]]] = {}
    for (workspace_id, product_id), change in latest.items():
        by_workspace.setdefault(workspace_id, {})[product_id] = change
    for workspace_id, changes in by_workspace.items():
        stored = dict(
            Product.objects.filter(
                workspace_id=workspace_id, product_id__in=list(changes)
            ).values_list("product_id", "updated_at")
        )
        fresh = {
            product_id: change
            for product_id, change in changes.items()
            if product_id not in stored or change[1] >= stored[product_id]
        }
        workspace = Workspace(pk=workspace_id)
        delete_products(
            workspace=workspace,
            product_ids=[pid for pid, (fields, _) in fresh.items() if fields is None],
        )
        upsert_products(
            workspace=workspace,
            products=[
                {**fields, "updated_at": at} for fields, at in fresh.values() if fields is not None
            ],
        )
