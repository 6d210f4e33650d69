"""What customers bought and viewed, read from their events in SQL.

Orders follow Segment's e-commerce spec: an ``Order Completed`` event lists
its lines in ``products: [{"product_id": ..., ...}]``, a ``Product Viewed``
event names one ``product_id``. A product id may arrive as a JSON string or
number; both read as text, the catalog's ``product_id``. Anything else (no
``products`` array, a line without an id) is not an order line.

Each function returns SQL for a FROM clause and its parameters, built for
PostgreSQL or the embedded SQLite (``engage.dialect``), so the recommenders
and the co-purchase count read orders one way.
"""

from datetime import datetime

from engage.dialect import Dialect

ORDER_COMPLETED = "Order Completed"
PRODUCT_VIEWED = "Product Viewed"


def _events(
    sql: Dialect, *, workspace_id: int, name: str, profile_ids, since: datetime | None
) -> tuple[str, list]:
    """The WHERE clause of a workspace's events of ``name``, of ``profile_ids``
    (None: every customer's) and at or after ``since``."""
    where = ["e.workspace_id = %s", "e.name = %s", "e.profile_id IS NOT NULL"]
    params: list = [workspace_id, name]
    if profile_ids is not None:
        clause, ids = sql.in_ids("e.profile_id", list(profile_ids))
        where.append(clause)
        params += ids
    if since is not None:
        where.append("e.timestamp >= %s")
        params.append(sql.ts(since))
    return " AND ".join(where), params


def order_lines(
    sql: Dialect, *, workspace_id: int, profile_ids=None, since: datetime | None = None
) -> tuple[str, list]:
    """``(profile_id, order_id, product_id, at)``: one row per line of an
    order (a product listed on two lines of one order is two rows: callers
    that count orders count distinct ``order_id``)."""
    where, params = _events(
        sql, workspace_id=workspace_id, name=ORDER_COMPLETED, profile_ids=profile_ids, since=since
    )
    if sql.pg:
        text = f"""
            SELECT e.profile_id, e.id AS order_id,
                   line ->> 'product_id' AS product_id, e.timestamp AS at
            FROM events_event e
            CROSS JOIN LATERAL jsonb_array_elements(
                CASE WHEN jsonb_typeof(e.properties -> 'products') = 'array'
                     THEN e.properties -> 'products' ELSE '[]'::jsonb END
            ) AS line
            WHERE {where} AND jsonb_typeof(line -> 'product_id') IN ('string', 'number')
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
    else:
        text = f"""
            SELECT e.profile_id, e.id AS order_id,
                   CAST(json_extract(line.value, '$.product_id') AS TEXT) AS product_id,
                   e.timestamp AS at
            FROM events_event e, json_each(
                CASE WHEN json_type(e.properties, '$.products') = 'array'
                     THEN json_extract(e.properties, '$.products') ELSE '[]' END
            ) AS line
            WHERE {where} AND line.type = 'object'
              AND json_type(line.value, '$.product_id') IN ('text', 'integer')
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
    return text, params


def product_views(
    sql: Dialect, *, workspace_id: int, profile_ids=None, since: datetime | None = None
) -> tuple[str, list]:
    """``(profile_id, product_id, at)``: one row per ``Product Viewed`` event."""
    where, params = _events(
        sql, workspace_id=workspace_id, name=PRODUCT_VIEWED, profile_ids=profile_ids, since=since
    )
    if sql.pg:
        text = f"""
            SELECT e.profile_id, e.properties ->> 'product_id' AS product_id,
                   e.timestamp AS at
            FROM events_event e
            WHERE {where}
              AND jsonb_typeof(e.properties -> 'product_id') IN ('string', 'number')
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
    else:
        text = f"""
            SELECT e.profile_id,
                   CAST(json_extract(e.properties, '$.product_id') AS TEXT) AS product_id,
                   e.timestamp AS at
            FROM events_event e
            WHERE {where}
              AND json_type(e.properties, '$.product_id') IN ('text', 'integer')
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
    return text, params
