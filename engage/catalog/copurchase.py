"""The co-purchase counts behind ``bought_together``, computed in one statement.

Every pair of products that appeared in one order is counted over all of a
workspace's orders by a self-join of the order lines in SQL: the database
reads the events once and never hands a line to Python. The workspace's rows
are replaced in one transaction, so rendering sees the old counts or the new
ones, never half of them (``docs/recommendations.md``; the cost beside a
plain GROUP BY is in ``docs/performance.md``).
"""

from django.db import connection, transaction

from engage.dialect import Dialect
from engage.workspaces.models import Workspace

from .models import CoPurchase
from .orders import order_lines

#: partners kept per product, the most often bought with it first: a lookup
#: then reads at most this many rows per product a customer bought, however
#: popular the product (a bestseller is bought with nearly everything)
PARTNERS = 20


def compute_copurchases(workspace: Workspace) -> int:
    """Replace the workspace's co-purchase counts; returns the rows stored
    (each product's ``PARTNERS`` most frequent partners)."""
    sql = Dialect(connection)
    lines, params = order_lines(sql, workspace_id=workspace.pk)
    table = CoPurchase._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace.pk])  # noqa: S608 (table name)
        cursor.execute(
            f"""
            INSERT INTO {table} (workspace_id, product_id, other_id, orders)
            WITH lines AS (SELECT DISTINCT order_id, product_id FROM ({lines}) l),
            pairs AS (
                SELECT a.product_id, b.product_id AS other_id, COUNT(*) AS orders
                FROM lines a
                JOIN lines b ON b.order_id = a.order_id AND b.product_id <> a.product_id
                GROUP BY a.product_id, b.product_id
            ), ranked AS (
                SELECT product_id, other_id, orders, ROW_NUMBER() OVER (
                    PARTITION BY product_id ORDER BY orders DESC, other_id
                ) AS n
                FROM pairs
            )
            SELECT %s, product_id, other_id, orders FROM ranked WHERE n <= %s
            """,  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
            [*params, workspace.pk, PARTNERS],
        )
        return cursor.rowcount
