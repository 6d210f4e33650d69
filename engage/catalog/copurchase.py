"""The co-purchase counts behind ``bought_together``, computed in one statement.

Every pair of catalog products that appeared in one order is counted over
all of a workspace's orders by a self-join of the order lines in SQL: the
database reads the events once and never hands a line to Python. Lines are
joined to the catalog first, so the join, the count and the ranking work on
integer keys (text keys sorted under a collation cost several times more:
docs/performance.md), and a product no longer in the catalog, which nothing
can recommend, costs nothing. The workspace's rows are replaced in one
transaction, so rendering sees the old counts or the new ones, never half of
them (``docs/recommendations.md``).
"""

from django.db import connection, transaction

from engage.dialect import Dialect
from engage.workspaces.models import Workspace

from .models import CoPurchase, Product
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
    table, products = CoPurchase._meta.db_table, Product._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace.pk])  # noqa: S608 (table name)
        cursor.execute(
            f"""
            INSERT INTO {table} (workspace_id, product_id, other_id, orders)
            WITH lines AS (
                SELECT DISTINCT l.order_id, p.id AS product
                FROM ({lines}) l
                JOIN {products} p ON p.workspace_id = %s AND p.product_id = l.product_id
            ), pairs AS (
                SELECT a.product, b.product AS other, COUNT(*) AS orders
                FROM lines a JOIN lines b ON b.order_id = a.order_id AND b.product <> a.product
                GROUP BY a.product, b.product
            ), ranked AS (
                SELECT product, other, orders, ROW_NUMBER() OVER (
                    PARTITION BY product ORDER BY orders DESC, other
                ) AS n
                FROM pairs
            )
            SELECT %s, p.product_id, o.product_id, r.orders
            FROM ranked r
            JOIN {products} p ON p.id = r.product
            JOIN {products} o ON o.id = r.other
            WHERE r.n <= %s
            """,  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
            [*params, workspace.pk, workspace.pk, PARTNERS],
        )
        return cursor.rowcount
