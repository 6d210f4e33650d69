"""Bought together: what other customers bought in the same orders as this one.

Looks up the nightly co-purchase counts (``engage.catalog.copurchase``) of
every product the customer bought, and sums them per other product: a
product often bought with several of the customer's purchases ranks first.
Ties go to the lower product id, so the answer is stable.
"""

from engage.catalog.recommending import top_unbought
from engage.plugins import Recommender, hookimpl


class BoughtTogether(Recommender):
    id = "bought_together"
    name = "Bought together"

    def recommend(self, *, workspace, profiles, limit):
        scored = """
            SELECT b.profile_id, c.other_id AS product_id, SUM(c.orders) AS score
            FROM bought b
            JOIN catalog_copurchase c ON c.workspace_id = %s AND c.product_id = b.product_id
            GROUP BY b.profile_id, c.other_id
        """
        return top_unbought(
            workspace_id=workspace.pk,
            profile_ids=[p.pk for p in profiles],
            candidates=scored,
            params=[workspace.pk],
            order="c.score DESC",
            limit=limit,
        )


@hookimpl
def engage_recommenders():
    return [BoughtTogether]
