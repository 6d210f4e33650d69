"""Recently viewed, not bought: the products a customer looked at lately.

Every ``Product Viewed`` of the last ``days`` days, the latest view first,
leaving out what the customer has bought since or before (a view that led to
an order needs no reminder).
"""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from engage.catalog.orders import product_views
from engage.catalog.recommending import top_unbought
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
        ids = [p.pk for p in profiles]
        since = timezone.now() - timedelta(days=self.settings["days"])
        views, params = product_views(
            Dialect(connection), workspace_id=workspace.pk, profile_ids=ids, since=since
        )
        viewed = f"""
            SELECT profile_id, product_id, MAX(at) AS last_at FROM ({views}) v
            GROUP BY profile_id, product_id
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        return top_unbought(
            workspace_id=workspace.pk,
            profile_ids=ids,
            candidates=viewed,
            params=params,
            order="c.last_at DESC",
            limit=limit,
        )


@hookimpl
def engage_recommenders():
    return [RecentlyViewed]
