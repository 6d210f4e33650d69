"""Popular in the customer's favourite category.

The favourite is the category the customer bought and viewed most in the
last ``days`` days (each order line and each view counts one; ties go to the
category first in alphabetical order). Its products are ranked by how many
orders of the whole workspace held them in the same window, leaving out what
the customer already bought.
"""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from engage.catalog.orders import order_lines, product_views
from engage.catalog.recommending import fetch_ranked
from engage.dialect import Dialect
from engage.plugins import Recommender, SettingField, hookimpl


class PopularInCategory(Recommender):
    id = "popular_in_category"
    name = "Popular in the favourite category"
    settings_schema = (
        SettingField(
            "days",
            "integer",
            default=90,
            help="The window, in days, of the purchases and views that count",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        return {} if settings["days"] >= 1 else {"days": "must be at least 1"}

    def recommend(self, *, workspace, profiles, limit):
        sql = Dialect(connection)
        ids = [p.pk for p in profiles]
        since = timezone.now() - timedelta(days=self.settings["days"])
        ws = workspace.pk
        bought, bought_params = order_lines(sql, workspace_id=ws, profile_ids=ids)
        recent, recent_params = order_lines(sql, workspace_id=ws, profile_ids=ids, since=since)
        views, view_params = product_views(sql, workspace_id=ws, profile_ids=ids, since=since)
        everyone, everyone_params = order_lines(sql, workspace_id=ws, since=since)
        text = f"""
            WITH bought AS (SELECT DISTINCT profile_id, product_id FROM ({bought}) l),
            interest AS (
                SELECT profile_id, product_id FROM ({recent}) r
                UNION ALL SELECT profile_id, product_id FROM ({views}) v
            ), affinity AS (
                SELECT i.profile_id, p.category, ROW_NUMBER() OVER (
                    PARTITION BY i.profile_id ORDER BY COUNT(*) DESC, p.category
                ) AS n
                FROM interest i
                JOIN catalog_product p ON p.workspace_id = %s AND p.product_id = i.product_id
                WHERE p.category <> ''
                GROUP BY i.profile_id, p.category
            ), favourite AS (
                SELECT profile_id, category FROM affinity WHERE n = 1
            ), popular AS (
                SELECT p.category, p.product_id, COUNT(DISTINCT o.order_id) AS orders
                FROM ({everyone}) o
                JOIN catalog_product p
                  ON p.workspace_id = %s AND p.product_id = o.product_id AND p.in_stock
                WHERE p.category IN (SELECT category FROM favourite)
                GROUP BY p.category, p.product_id
            ), ranked AS (
                SELECT f.profile_id, pop.product_id, ROW_NUMBER() OVER (
                    PARTITION BY f.profile_id ORDER BY pop.orders DESC, pop.product_id
                ) AS n
                FROM favourite f
                JOIN popular pop ON pop.category = f.category
                WHERE NOT EXISTS (
                    SELECT 1 FROM bought x
                    WHERE x.profile_id = f.profile_id AND x.product_id = pop.product_id
                )
            )
            SELECT profile_id, product_id FROM ranked WHERE n <= %s ORDER BY profile_id, n
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        params = [
            *bought_params,
            *recent_params,
            *view_params,
            ws,
            *everyone_params,
            ws,
            limit,
        ]
        return fetch_ranked(text, params)


@hookimpl
def engage_recommenders():
    return [PopularInCategory]
