"""Recommendations for a batch of customers, as templates read them.

Each recommender plugin names products by id; this module turns its answer
into the products a template shows, and enforces for every plugin what a
customer must never be shown: a product that is not in the catalog, out of
stock, or one they already bought.
"""

import logging
from decimal import Decimal

from django.db import connection

from engage.dialect import Dialect
from engage.plugins.base import Recommender, SettingsError
from engage.plugins.manager import recommenders
from engage.plugins.models import PluginConfig
from engage.profiles.models import Profile
from engage.workspaces.models import Workspace

from .models import Product
from .orders import order_lines

logger = logging.getLogger(__name__)

#: products per recommender in a template's context; ``limit:`` in a loop shows fewer
TEMPLATE_LIMIT = 10


def enabled_recommenders(workspace: Workspace) -> dict[str, Recommender]:
    """The installed recommenders the workspace has not turned off, with its settings.

    Like scoring models, a recommender without a configuration row is on with
    its defaults; settings that no longer validate fall back to the defaults.
    """
    classes = recommenders()
    configs = {
        config.plugin_id: config
        for config in PluginConfig.objects.filter(workspace=workspace, plugin_id__in=list(classes))
    }
    enabled = {}
    for plugin_id, cls in classes.items():
        config = configs.get(plugin_id)
        if config is not None and not config.enabled:
            continue
        try:
            settings = cls.validate_settings(config.settings if config else {})
        except SettingsError as exc:
            logger.warning("%s is misconfigured in workspace %s: %s", plugin_id, workspace.pk, exc)
            settings = cls.validate_settings({})
        enabled[plugin_id] = cls(settings)
    return enabled


def product_item(product: Product) -> dict:
    """A product as templates and the preview see it: plain values only."""
    return {
        "id": product.product_id,
        "title": product.title,
        "url": product.url,
        "image": product.image,
        "price": _price(product.price),
        "currency": product.currency,
        "category": product.category,
    }


def _price(price: Decimal | None) -> str:
    """``19.90``, or ``0.125`` when the third decimal is used; empty when unknown."""
    if price is None:
        return ""
    cents = price.quantize(Decimal("0.01"))
    return str(cents if cents == price else price.normalize())


def bought_products(workspace: Workspace, profile_ids: list[int]) -> set[tuple[int, str]]:
    """(profile id, product id) of everything the customers ever ordered."""
    sql = Dialect(connection)
    lines, params = order_lines(sql, workspace_id=workspace.pk, profile_ids=profile_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT profile_id, product_id FROM ({lines}) l", params)  # noqa: S608 (SQL from fixed pieces)
        return set(cursor.fetchall())


def fetch_ranked(text: str, params: list) -> dict[int, list[str]]:
    """A recommender's SQL selecting ``profile_id, product_id``, best first
    per customer, as ``recommend`` answers: ``{profile id: [product_id, ...]}``."""
    found: dict[int, list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        for profile_id, product_id in cursor.fetchall():
            found.setdefault(profile_id, []).append(product_id)
    return found


def top_unbought(
    *,
    workspace_id: int,
    profile_ids: list[int],
    candidates: str,
    params: list,
    order: str,
    limit: int,
) -> dict[int, list[str]]:
    """The first ``limit`` in-stock products per customer among
    ``candidates``, leaving out what the customer ever bought.

    ``candidates`` is SQL selecting ``profile_id, product_id`` and the columns
    ``order`` ranks by (``c.``-qualified, best first; the product id breaks
    ties, so the answer is stable); it may read ``bought``, the customers'
    ``profile_id, product_id`` pairs, and takes ``params``."""
    bought, bought_params = order_lines(
        Dialect(connection), workspace_id=workspace_id, profile_ids=profile_ids
    )
    text = f"""
        WITH bought AS (SELECT DISTINCT profile_id, product_id FROM ({bought}) l),
        candidate AS ({candidates}),
        ranked AS (
            SELECT c.profile_id, c.product_id, ROW_NUMBER() OVER (
                PARTITION BY c.profile_id ORDER BY {order}, c.product_id
            ) AS n
            FROM candidate c
            JOIN catalog_product p
              ON p.workspace_id = %s AND p.product_id = c.product_id AND p.in_stock
            WHERE NOT EXISTS (
                SELECT 1 FROM bought x
                WHERE x.profile_id = c.profile_id AND x.product_id = c.product_id
            )
        )
        SELECT profile_id, product_id FROM ranked WHERE n <= %s ORDER BY profile_id, n
    """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
    return fetch_ranked(text, [*bought_params, *params, workspace_id, limit])


def recommend(
    workspace: Workspace,
    profiles: list[Profile],
    recommender: Recommender,
    *,
    limit: int = TEMPLATE_LIMIT,
) -> dict[int, list[dict]]:
    """``{profile id: [product item, ...]}`` from one recommender, best first,
    without unknown, out-of-stock or already-bought products."""
    if not profiles:
        return {}
    answer = recommender.recommend(workspace=workspace, profiles=profiles, limit=limit) or {}
    wanted = {str(product_id) for ids in answer.values() for product_id in ids}
    if not wanted:
        return {}
    products = {
        product.product_id: product
        for product in Product.objects.filter(
            workspace=workspace, product_id__in=wanted, in_stock=True
        )
    }
    bought = bought_products(workspace, [profile.pk for profile in profiles])
    found = {}
    for profile in profiles:
        items, seen = [], set()
        for product_id in answer.get(profile.pk, ()):
            product = products.get(str(product_id))
            if product is None or product.pk in seen or (profile.pk, product.product_id) in bought:
                continue
            seen.add(product.pk)
            items.append(product_item(product))
        found[profile.pk] = items[:limit]
    return found
