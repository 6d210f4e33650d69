"""Model instances built straight from their rows, for hot paths on PostgreSQL.

Through the ORM each row costs a compiled query's share, a ``Model.__init__``
setting every field, and a loader call per column, in Python for times
(Django's time zone loader) and for JSON: measured on event processing, 29
to 33 µs of the worker's CPU per claimed event, 22-27 µs per profile it
locked and 7-8 µs per identity of those it read (6.5 and 3.4 µs here).
Here each row comes back as one JSON array
(``json_build_array``, which writes times in ISO 8601 whatever the server's
DateStyle), decoded by one ``json.loads``; times are parsed with
``datetime.fromisoformat``, and the instance is made by filling its
``__dict__`` (what ``Model.from_db`` ends up doing, without the per-field
machinery). Fields not selected are deferred, loaded on access as with
``only``. PostgreSQL only: SQLite has no ``FOR UPDATE`` and its own time
format, so there callers keep the ORM.

A row that cannot be loaded (a time outside Python's range or infinite,
JSON nested too deep) raises ValueError or RecursionError here, as through
the ORM, and on the client.
"""

import functools
import json
from datetime import datetime

from django.db import connection, models
from django.db.models import F, Func, TextField
from django.db.models.base import ModelState
from django.db.models.functions import Cast

# Columns whose JSON form is the value itself (numbers, strings, booleans,
# JSON); times are parsed. Anything else (decimals, dates, UUIDs) would come
# back as something else than the ORM's value.
_PLAIN = (
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.JSONField,
    models.ForeignKey,
)


def select_list(model, attnames: list[str]) -> str:
    """What to SELECT for ``load``: one JSON array per row, of ``attnames`` in order.

    ``json.loads`` in C decodes it whole, where the driver would call a
    loader per column.
    """
    quote = connection.ops.quote_name
    fields = _fields(model)
    columns = ", ".join(quote(fields[name].column) for name in attnames)
    return f"json_build_array({columns})::text"


def load(model, attnames: list[str], sql: str, params: list) -> list:
    """Run ``sql`` (which selects ``select_list(model, attnames)``) and build its rows."""
    fields = _fields(model)
    times = []
    for i, name in enumerate(attnames):
        field = fields[name]
        if isinstance(field, models.DateTimeField):
            times.append(i)
        elif not isinstance(field, _PLAIN):
            raise TypeError(f"{model.__name__}.{name}: cannot load {type(field).__name__}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    alias = connection.alias  # a look-up through asgiref's Local each time
    instances = []
    for (row,) in rows:
        values = json.loads(row)
        for i in times:
            if values[i] is not None:
                values[i] = datetime.fromisoformat(values[i])
        instances.append(build(model, dict(zip(attnames, values, strict=True)), db=alias))
    return instances


def build(model, values: dict, *, db: str | None):
    """An instance holding ``values`` ({attname: value}), made as ``load``
    makes each; ``db`` None for one not yet written (``Model.__init__``
    costs 30 µs for a journey's enrollment)."""
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = state = ModelState()
    state.adding = db is None
    state.db = db
    return instance


def load_queryset(queryset, attnames: list[str]) -> list:
    """The rows of ``queryset`` (its filters, order, slice and locks), built as ``load`` does."""
    row = Cast(Func(*(F(name) for name in attnames), function="json_build_array"), TextField())
    sql, params = queryset.annotate(row=row).values_list("row", flat=True).query.sql_with_params()
    return load(queryset.model, attnames, sql, list(params))


@functools.cache
def _fields(model) -> dict:
    return {field.attname: field for field in model._meta.concrete_fields}
