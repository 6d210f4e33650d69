"""Bought together: what other customers bought in the same orders as this one.

Looks up the nightly co-purchase counts (``engage.catalog.copurchase``) of
every product the customer bought, and sums them per other product: a
product often bought with several of the customer's purchases ranks first.
Ties go to the lower product id, so the answer is stable.
"""

from django.db import connection

from engage.catalog.orders import order_lines
from engage.catalog.recommending import fetch_ranked
from engage.dialect import Dialect
from engage.plugins import Recommender, hookimpl


class BoughtTogether(Recommender):
    id = "bought_together"
    name = "Bought together"

    def recommend(self, *, workspace, profiles, limit):
        sql = Dialect(connection)
        bought, params = order_lines(
            sql, workspace_id=workspace.pk, profile_ids=[p.pk for p in profiles]
        )
        text = f"""
            WITH bought AS (SELECT DISTINCT profile_id, product_id FROM ({bought}) l),
            scored AS (
                SELECT b.profile_id, c.other_id AS product_id, SUM(c.orders) AS score
                FROM bought b
                JOIN catalog_copurchase c
                  ON c.workspace_id = %s AND c.product_id = b.product_id
                GROUP BY b.profile_id, c.other_id
            ), ranked AS (
                SELECT s.profile_id, s.product_id, ROW_NUMBER() OVER (
                    PARTITION BY s.profile_id ORDER BY s.score DESC, s.product_id
                ) AS n
                FROM scored s
                JOIN catalog_product p
                  ON p.workspace_id = %s AND p.product_id = s.product_id AND p.in_stock
                WHERE NOT EXISTS (
                    SELECT 1 FROM bought x
                    WHERE x.profile_id = s.profile_id AND x.product_id = s.product_id
                )
            )
            SELECT profile_id, product_id FROM ranked WHERE n <= %s ORDER BY profile_id, n
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        return fetch_ranked(text, [*params, workspace.pk, workspace.pk, limit])


@hookimpl
def engage_recommenders():
    return [BoughtTogether]
