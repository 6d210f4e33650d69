"""Shopify orders: each order identifies its customer and is an ``Order
Completed``; cancellations and refunds are ``Order Cancelled`` and ``Order
Refunded`` (Segment's e-commerce spec names and properties).

The importer reads the Admin REST API's ``GET /admin/api/<version>/orders.json``
(``status=any``, ``updated_at_min`` from the cursor) with the app's
``X-Shopify-Access-Token``, following the ``Link`` header's ``rel="next"``
URL, which carries ``page_info``. Orders come newest first, so the cursor
moves to the newest ``updated_at`` only once the last page is read; between
pages it keeps the next page's link, so a failed run resumes there. Orders
changed at exactly ``updated_at_min`` are read again next time and stored
nothing twice.

The same orders arrive as webhooks (``orders/create``, ``orders/updated``) at
``engage.events.source_webhooks``, mapped by the same ``order_calls``.

Every messageId comes from Shopify's ids: an order is one ``Order
Completed`` however often it is updated (its revenue counts once), a refund
one ``Order Refunded``; a customer's identify changes with their
``updated_at``. So the importer and the webhooks never store an order twice.
"""

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime
from urllib.parse import urlencode

from engage.plugins import hookimpl
from engage.plugins.base import Checkpoint, Importer, ImportProblem, SettingField
from engage.plugins.outbound import url_refusal
from engage.plugins.provider_http import SourceError, same_origin, source_request

SOURCE = "Shopify"
API_VERSION = re.compile(r"^\d{4}-(01|04|07|10)$")
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def message_id(kind: str, record_id, version: str = "") -> str:
    suffix = ":" + hashlib.sha256(version.encode()).hexdigest()[:12] if version else ""
    return f"shopify:{kind}:{record_id}"[:80] + suffix


def _later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO-8601 times (Shopify's carry the shop's offset,
    so their text does not sort)."""
    if not a or not b:
        return a or b
    return a if datetime.fromisoformat(a) >= datetime.fromisoformat(b) else b


def _money(value) -> float | None:
    return None if value in (None, "") else float(value)


def _products(line_items: list) -> list[dict]:
    products = []
    for item in line_items or []:
        product = {
            "product_id": None if item.get("product_id") is None else str(item["product_id"]),
            "sku": item.get("sku"),
            "name": item.get("title") or item.get("name"),
            "variant": item.get("variant_title"),
            "price": _money(item.get("price")),
            "quantity": item.get("quantity"),
        }
        products.append({k: v for k, v in product.items() if v not in (None, "")})
    return products


def order_calls(order: dict) -> list:
    """The calls (and problems) one Shopify order becomes."""
    where = f"order {order.get('name') or order.get('id')}"
    if not isinstance(order.get("id"), int | str) or order.get("id") in ("", None):
        return [ImportProblem(where, "id", "missing")]
    customer = order.get("customer") or {}
    email = order.get("email") or customer.get("email")
    phone = order.get("phone") or customer.get("phone")
    if not customer.get("id") and not email and not phone:
        return [ImportProblem(where, "customer", "no customer, email or phone")]
    try:
        total = _money(order.get("total_price"))
        revenue = _money(order.get("subtotal_price"))
    except ValueError:
        return [ImportProblem(where, "total_price", "not a number")]
    if customer.get("id"):
        who = {
            "anonymousId": f"shopify:{customer['id']}",
            "context": {"externalIds": [{"type": "shopify", "id": str(customer["id"])}]},
        }
    else:  # a guest checkout: known by its email or phone only
        who = {"anonymousId": f"shopify-order:{order['id']}"}
    traits = {
        "email": email,
        "phone": phone,
        "first_name": customer.get("first_name"),
        "last_name": customer.get("last_name"),
    }
    traits = {k: v for k, v in traits.items() if v not in (None, "")}
    version = customer.get("updated_at") or order.get("updated_at") or ""
    calls: list = [
        {
            "type": "identify",
            "messageId": message_id("customer", customer.get("id") or order["id"], version),
            "timestamp": order.get("updated_at"),
            "traits": traits,
            **who,
        }
    ]
    currency = order.get("currency")
    completed = {
        "order_id": str(order["id"]),
        "checkout_id": None if order.get("checkout_id") is None else str(order["checkout_id"]),
        "total": total,
        "revenue": revenue,
        "tax": _money(order.get("total_tax")),
        "discount": _money(order.get("total_discounts")),
        "currency": currency,
        "products": _products(order.get("line_items")),
    }
    calls.append(
        {
            "type": "track",
            "event": "Order Completed",
            "messageId": message_id("order", order["id"]),
            "timestamp": order.get("processed_at") or order.get("created_at"),
            "properties": {k: v for k, v in completed.items() if v is not None},
            **who,
        }
    )
    if order.get("cancelled_at"):
        cancelled = {"order_id": str(order["id"]), "total": total, "currency": currency}
        if order.get("cancel_reason"):
            cancelled["reason"] = order["cancel_reason"]
        calls.append(
            {
                "type": "track",
                "event": "Order Cancelled",
                "messageId": message_id("cancelled", order["id"]),
                "timestamp": order["cancelled_at"],
                "properties": cancelled,
                **who,
            }
        )
    for refund in order.get("refunds") or []:
        amount = sum(
            _money(t.get("amount")) or 0.0
            for t in refund.get("transactions") or []
            if t.get("kind") == "refund" and t.get("status", "success") == "success"
        )
        items = [r.get("line_item") or {} for r in refund.get("refund_line_items") or []]
        calls.append(
            {
                "type": "track",
                "event": "Order Refunded",
                "messageId": message_id("refund", refund["id"]),
                "timestamp": refund.get("processed_at") or refund.get("created_at"),
                "properties": {
                    "order_id": str(order["id"]),
                    "refund_id": str(refund["id"]),
                    "total": round(amount, 2),
                    "currency": currency,
                    "products": _products(items),
                },
                **who,
            }
        )
    return calls


class Shopify(Importer):
    id = "shopify"
    name = "Shopify orders"
    settings_schema = (
        SettingField(
            "shop_url",
            type="url",
            required=True,
            help="The shop's admin address, e.g. https://acme.myshopify.com",
        ),
        SettingField(
            "access_token",
            required=True,
            secret=True,
            help="The app's Admin API access token (read_orders scope).",
        ),
        SettingField("api_version", default="2025-07", help="Admin API version, e.g. 2025-07."),
        SettingField(
            "webhook_secret",
            secret=True,
            help="The app's client secret, which signs its order webhooks (blank: webhooks "
            "are refused).",
        ),
        SettingField(
            "updated_at_min",
            help="Orders changed since this ISO-8601 time on a first run (blank: all).",
        ),
        SettingField("page_size", type="integer", default=250, help="Orders per page (1-250)."),
    )

    @classmethod
    def check_settings(cls, settings):
        errors = {}
        refusal = url_refusal(settings["shop_url"])
        if refusal:
            errors["shop_url"] = refusal
        if not API_VERSION.match(settings["api_version"]):
            errors["api_version"] = "must be a Shopify API version such as 2025-07"
        if settings.get("updated_at_min"):
            try:
                datetime.fromisoformat(settings["updated_at_min"])
            except ValueError:
                errors["updated_at_min"] = "must be an ISO-8601 time, e.g. 2025-01-31T00:00:00Z"
        if not 1 <= settings["page_size"] <= 250:
            errors["page_size"] = "must be between 1 and 250"
        return errors

    def read(self, *, workspace):
        cursor = dict(self.cursor or {})
        since = cursor.get("updated_at_min") or self.settings.get("updated_at_min")
        url = cursor.get("next_page")
        if url is None:  # a page_info link carries the query it continues
            query = {"status": "any", "limit": self.settings["page_size"]}
            if since:
                query["updated_at_min"] = since
            url = (
                f"{self.settings['shop_url'].rstrip('/')}/admin/api/"
                f"{self.settings['api_version']}/orders.json?{urlencode(query)}"
            )
        newest = cursor.get("newest") or since
        while url:
            response = source_request(
                "GET",
                url,
                headers={"X-Shopify-Access-Token": self.settings["access_token"]},
                source=SOURCE,
                credential="access_token",
            )
            for order in response.json().get("orders", []):
                yield from order_calls(order)
                newest = _later(newest, order.get("updated_at"))
            url = self._next_page(response.headers.get("link", ""))
            if url:
                checkpoint = {"next_page": url, "newest": newest}
                if since:
                    checkpoint["updated_at_min"] = since
                yield Checkpoint(checkpoint)
        yield Checkpoint({"updated_at_min": newest} if newest else {})

    def verify_webhook(self, request) -> bool:
        """``X-Shopify-Hmac-Sha256``: the base64 HMAC-SHA256 of the raw body
        with the app's client secret, compared in constant time."""
        secret = self.settings.get("webhook_secret")
        given = request.headers.get("X-Shopify-Hmac-Sha256", "")
        if not secret or not given:
            return False
        digest = hmac.new(secret.encode(), request.body, hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), given.strip())

    def webhook_calls(self, request) -> list:
        """An ``orders/*`` webhook's order, as the importer maps it."""
        topic = request.headers.get("X-Shopify-Topic", "")
        if not topic.startswith("orders/"):
            raise ValueError(f"X-Shopify-Topic {topic!r} is not an order topic")
        try:
            order = json.loads(request.body)
        except ValueError:
            raise ValueError("not JSON") from None
        if not isinstance(order, dict):
            raise ValueError("must be a JSON object (an order)")
        return order_calls(order)

    def _next_page(self, link: str) -> str | None:
        match = NEXT_LINK.search(link)
        if not match:
            return None
        url = match.group(1)
        if not same_origin(url, self.settings["shop_url"]):
            raise SourceError(f"{SOURCE}: the next page's link leaves {self.settings['shop_url']}")
        return url


@hookimpl
def engage_importers():
    return [Shopify]
