"""Recently viewed, not bought: the products a customer looked at lately.

Every ``Product Viewed`` of the last ``days`` days, the latest view first,
leaving out what the customer has bought since or before (a view that led to
an order needs no reminder).
"""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from engage.catalog.orders import order_lines, product_views
from engage.catalog.recommending import fetch_ranked
from engage.dialect import Dialect
from engage.plugins import Recommender, SettingField, hookimpl


class RecentlyViewed(Recommender):
    id = "recently_viewed"
    name = "Recently viewed, not bought"
    settings_schema = (
        SettingField("days", "integer", default=30, help="How far back a view counts, in days"),
    )

    @classmethod
    def check_settings(cls, settings):
        return {} if settings["days"] >= 1 else {"days": "must be at least 1"}

    def recommend(self, *, workspace, profiles, limit):
        sql = Dialect(connection)
        ids = [p.pk for p in profiles]
        since = timezone.now() - timedelta(days=self.settings["days"])
        views, view_params = product_views(
            sql, workspace_id=workspace.pk, profile_ids=ids, since=since
        )
        bought, bought_params = order_lines(sql, workspace_id=workspace.pk, profile_ids=ids)
        text = f"""
            WITH bought AS (SELECT DISTINCT profile_id, product_id FROM ({bought}) l),
            viewed AS (
                SELECT profile_id, product_id, MAX(at) AS last_at FROM ({views}) v
                GROUP BY profile_id, product_id
            ), ranked AS (
                SELECT v.profile_id, v.product_id, ROW_NUMBER() OVER (
                    PARTITION BY v.profile_id ORDER BY v.last_at DESC, v.product_id
                ) AS n
                FROM viewed v
                JOIN catalog_product p
                  ON p.workspace_id = %s AND p.product_id = v.product_id AND p.in_stock
                WHERE NOT EXISTS (
                    SELECT 1 FROM bought x
                    WHERE x.profile_id = v.profile_id AND x.product_id = v.product_id
                )
            )
            SELECT profile_id, product_id FROM ranked WHERE n <= %s ORDER BY profile_id, n
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        return fetch_ranked(text, [*bought_params, *view_params, workspace.pk, limit])


@hookimpl
def engage_recommenders():
    return [RecentlyViewed]
