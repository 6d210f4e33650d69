"""Many rows of one model written with one INSERT, from their columns.

Entry writes an enrollment and a ledger row for each customer it lets in,
thousands for one chunk of events, and the engine a ledger row for each
step. Through ``bulk_create`` each value went through Django's per-field
preparation and each row was a model instance first: profiled, 3.6 of 5.1 s
for 5,000 enrollments and 5,000 ledger rows, and half of the engine's CPU
parking a batch at a wait.
On PostgreSQL this is ``INSERT … SELECT FROM unnest(…)`` with one typed
array per column (as ``engage.bulk.update_rows`` writes), a column not given
taking its field's default; elsewhere (SQLite, one writer) ``bulk_create``.
"""

import json

from django.db import connection, models
from django.utils import timezone

from engage.bulk import array_param


def insert_rows(model, columns: dict[str, list], *, returning=("id",)) -> list[tuple]:
    """Insert one row per position of ``columns`` ({attname: values}); returns
    the ``returning`` attnames of the rows written."""
    size = len(next(iter(columns.values()), []))
    if not size:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    values = {f.attname: columns.get(f.attname) or [_default(f)] * size for f in fields}
    if connection.vendor != "postgresql":
        rows = model.objects.bulk_create(
            [model(**{name: values[name][i] for name in values}) for i in range(size)]
        )
        return [tuple(getattr(row, name) for name in returning) for row in rows]
    quote = connection.ops.quote_name
    names, selected, shared, unnested, arrays = [], [], [], [], []
    for field in fields:
        names.append(quote(field.column))
        column = values[field.attname]
        is_json = isinstance(field, models.JSONField)
        kind = "text" if is_json else field.db_type(connection)
        if is_json:
            column = [None if v is None else json.dumps(v, cls=field.encoder) for v in column]
        if all(value == column[0] for value in column):
            # One parameter for a value every row shares (the journey, the
            # time...): dumping an array costs per element.
            expr = f"%s::{kind}"
            shared.append(column[0])
        else:
            unnested.append(f"%s::{kind}[]")
            arrays.append(array_param(kind, column))
            expr = f"v.c{len(unnested)}"
        selected.append(f"({expr})::jsonb" if is_json else expr)
    aliases = ", ".join(f"c{i + 1}" for i in range(len(unnested)))
    if unnested:
        source = f" FROM unnest({', '.join(unnested)}) AS v({aliases})"
    else:
        source = f" FROM generate_series(1, {size})"
    # Names and types come from the model; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(names)}) "
        f"SELECT {', '.join(selected)}{source}"
        + f" RETURNING {', '.join(quote(model._meta.get_field(n).column) for n in returning)}"
    )
    arrays = [*shared, *arrays]
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.fetchall()


def _default(field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    return field.get_default()
