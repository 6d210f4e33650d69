"""Writing a field set of many rows in one statement.

Event processing writes a whole batch of events and profiles at once; any
app with a hot path that changes many rows of one model can do the same, so
this sits outside the apps.
"""

import json
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.db import connection, models
from django.utils import timezone

# Column types whose arrays go to PostgreSQL as their text (``int_array``).
INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})


def int_array(values) -> str:
    """The text of a PostgreSQL array of these integers (None as NULL), to
    cast on the server (``%s::bigint[]``): psycopg passes a string as it is,
    where it dumps a list element by element, 1.6 µs each (0.15 µs here)."""
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def text_array(values) -> str:
    """The text of a PostgreSQL array of these strings (None as NULL), each
    element quoted, to cast on the server like ``int_array``."""
    return (
        "{"
        + ",".join(
            "NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        )
        + "}"
    )


def array_param(db_type: str, values: list):
    """``values`` as one array parameter for a column of ``db_type``.

    Integers, strings (JSON included, sent as text) and times go as the
    array's text: psycopg dumps a list element by element, which was 3% of
    event processing's CPU (the profiles' traits and times) and most of the
    time a journey entry spent sending its ledger rows.
    """
    if db_type in INTEGER_TYPES:
        return int_array(values)
    if all(v is None or isinstance(v, str) for v in values):
        return text_array(values)
    if all(v is None or isinstance(v, datetime) for v in values):
        return text_array([None if v is None else v.isoformat() for v in values])
    return values


def update_rows(model, rows: list, fields: list[str]) -> None:
    """Write ``fields`` of ``rows`` with one statement.

    On PostgreSQL an ``UPDATE … FROM unnest(…)``: Django's ``bulk_update``
    builds one CASE per field and row, which costs more Python time than the
    round trips it saves. A field every row gives the same value (the node
    and the wake time of a batch of enrollments parking at one wait) is one
    parameter, not an array: psycopg dumps an array element by element, 2.7
    µs each, which was most of the journey engine's write.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(rows, fields)
        return
    quote = connection.ops.quote_name
    pk = model._meta.pk
    pk_type = pk.db_type(connection)
    columns, types, sets, shared = [quote(pk.column)], [f"{pk_type}[]"], [], []
    arrays = [array_param(pk_type, [row.pk for row in rows])]
    for name in fields:
        field = model._meta.get_field(name)
        column = quote(field.column)
        values = [getattr(row, field.attname) for row in rows]
        is_json = isinstance(field, models.JSONField)
        if is_json:
            # Compared as written: equal dicts may differ in JSON (1 and 1.0).
            values = [json.dumps(value, cls=field.encoder) for value in values]
        kind = "text" if is_json else field.db_type(connection)
        cast = "::jsonb" if is_json else ""
        first = values[0]
        if all(value == first for value in values):
            sets.append(f"{column} = %s::{kind}{cast}")
            shared.append(first)
        else:
            columns.append(column)
            types.append(f"{kind}[]")
            sets.append(f"{column} = v.{column}{cast}")
            arrays.append(array_param(kind, values))
    placeholders = ", ".join(f"%s::{kind}" for kind in types)
    # Names and types come from the model; every value is a parameter.
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS t SET {', '.join(sets)} "  # noqa: S608
        f"FROM unnest({placeholders}) AS v({', '.join(columns)}) "
        f"WHERE t.{columns[0]} = v.{columns[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*shared, *arrays])


def insert_rows(model, rows: list) -> None:
    """Insert ``rows``, unsaved instances, with one statement, and set their ids.

    On PostgreSQL an ``INSERT … SELECT`` from one JSON document decoded on
    the server (``json_to_recordset``): ``bulk_create`` prepares every field
    of every row in Python and quotes each value into the statement, which
    cost event processing 32 µs of its CPU per event for new profiles and
    identities. Like ``bulk_create``, it sends no signals; ``auto_now_add``
    and ``auto_now`` fields take one time for the whole call.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows)
        return
    now = timezone.now()
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    definitions, selected = ["_n integer"], []
    for field in fields:
        column = quote(field.column)
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for row in rows:
                setattr(row, field.attname, now)
        if isinstance(field, models.JSONField):
            definitions.append(f"{column} text")
            selected.append(f"v.{column}::jsonb")
        else:
            definitions.append(f"{column} {field.db_type(connection)}")
            selected.append(f"v.{column}")
    document = [
        {
            "_n": n,
            **{field.column: _value(field, getattr(row, field.attname)) for field in fields},
        }
        for n, row in enumerate(rows)
    ]
    pk = quote(model._meta.pk.column)
    # Names and types come from the model; every value is in the parameter.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT {', '.join(selected)} FROM json_to_recordset(%s::json) "
        f"AS v({', '.join(definitions)}) ORDER BY v._n RETURNING {pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(document, default=_plain)])
        ids = [found for (found,) in cursor.fetchall()]
    alias = connection.alias  # a look-up through asgiref's Local each time
    for row, found in zip(rows, ids, strict=True):
        row.pk = found
        row._state.adding = False
        row._state.db = alias


def _value(field, value):
    if isinstance(field, models.JSONField) and value is not None:
        return json.dumps(value, cls=field.encoder)
    return value


def _plain(value):
    """A column value JSON has no type for, as text PostgreSQL reads back into it."""
    if isinstance(value, date):  # datetimes too: ISO 8601 with the offset
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} with insert_rows")
