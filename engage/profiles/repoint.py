"""Set-based re-pointing of rows after a batch of merges or splits.

A receiver of ``profiles_merged`` turns the announced pairs into one mapping
(merged id → the survivor it ends at) and moves its rows with a single
UPDATE per table: the statement count stays the same whether the batch held
one merge or a thousand. Receivers in SQL join the mapping as a table
(``survivor_table``, ``move_rows``); ORM ones use a CASE (``moved_to``).
Both compile on PostgreSQL and SQLite. ``holding`` lets a receiver skip
the tables where no merged profile has a row.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import BigIntegerField, Case, Expression, F, Q, Value, When

from engage.dialect import Dialect

from .models import Profile


def survivors(pairs: Iterable[tuple[int, int, int]]) -> dict[int, int]:
    """Each merged profile id mapped to the survivor its rows end with.

    Pairs come in merge order; when C merged into B and then B into A in one
    batch, C's rows go straight to A, so no row is left on a merged profile.
    """
    target: dict[int, int] = {}
    for survivor_id, merged_id, _merge_id in pairs:
        target[merged_id] = survivor_id
        for moved, held_by in target.items():
            if held_by == merged_id:
                target[moved] = survivor_id
    return target


def holding(models: list, profile_ids: Iterable[int]) -> list:
    """The models of ``models`` with a row on any of ``profile_ids``, in one statement.

    The profiles a batch of processing merges are mostly devices first seen
    minutes ago, with events but no scores, memberships or messages: one
    ``EXISTS`` per table, each an index probe, lets a receiver skip the
    statements (and their compilation) for tables with nothing to move.
    """
    ids = list(profile_ids)
    if not ids:
        return []
    dialect = Dialect(connection)
    probes, params = [], []
    for model in models:
        condition, condition_params = dialect.in_ids("profile_id", ids)
        table = connection.ops.quote_name(model._meta.db_table)
        probe = f"EXISTS (SELECT 1 FROM {table} WHERE {condition})"  # noqa: S608 - a model's table, ids are params
        probes.append(probe)
        params += condition_params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(probes)}", params)
        found = cursor.fetchone()
    return [model for model, held in zip(models, found, strict=True) if held]


def survivor_table(target: dict[int, int]) -> tuple[str, list]:
    """``survivors(...)`` as a common table expression ``moves(merged_id, survivor_id)``.

    For receivers that write their statements in SQL: the mapping is passed
    once per statement as two arrays on PostgreSQL (``unnest``), as a VALUES
    list on SQLite, instead of a CASE per use.
    """
    if connection.vendor == "postgresql":
        rows = "SELECT * FROM unnest(%s::bigint[], %s::bigint[])"
        params = [list(target), list(target.values())]
    else:
        rows = "VALUES " + ", ".join(["(%s, %s)"] * len(target))
        params = [value for pair in target.items() for value in pair]
    return f"moves(merged_id, survivor_id) AS ({rows})", params


def move_rows(model, target: dict[int, int]) -> int:
    """Re-point ``model``'s rows on merged profiles to their survivors; returns how many.

    One plain UPDATE over ``survivor_table``: the ORM's ``update`` with
    ``moved_to`` compiled a CASE of every pair for each table and batch.
    """
    if not target:
        return 0
    moves, params = survivor_table(target)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {moves} UPDATE {table} SET profile_id = ("  # noqa: S608 - a model's table, ids are params
            f" SELECT survivor_id FROM moves WHERE merged_id = {table}.profile_id)"
            " WHERE profile_id IN (SELECT merged_id FROM moves)",
            params,
        )
        return cursor.rowcount


class MovedTo(Expression):
    """``CASE field WHEN old THEN new … END``, compiled directly.

    The same SQL as ``Case(When(...))``, without an expression object per
    pair: Django resolves and copies each ``When`` every time the expression
    is used (the receivers use it several times per batch). Processing 5,300
    events with 300 merges in batches of 500 spent 3.4 s of 6.4 in the merge
    receivers with ``Case(When(...))``, 0.5 s of 2.8 with this (profiled).
    """

    def __init__(self, mapping: dict[int, int], field: str):
        super().__init__(output_field=BigIntegerField())
        self.mapping = mapping
        self.column = F(field)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        if not self.mapping:
            return "NULL", []
        column, params = compiler.compile(self.column)
        pairs = [value for pair in self.mapping.items() for value in pair]
        whens = " ".join(["WHEN %s THEN %s"] * len(self.mapping))
        return f"CASE {column} {whens} END", [*params, *pairs]


def moved_to(mapping: dict[int, int], field: str = "profile_id") -> MovedTo:
    """The new value of ``field`` for rows whose ``field`` is a key of ``mapping``."""
    return MovedTo(mapping, field)


def handed_back(pairs: Iterable[tuple[int, int, int]]) -> tuple[Q, Case]:
    """Which rows a batch of splits gives back, and the profile each goes to.

    A row goes back when it sits on the holder and was first written for the
    restored profile or for a profile merged into it (``origin_profile_id``);
    rows written for the holder stay. Returns the filter and the new
    ``profile_id``, for one UPDATE per table. Runs one query, to find the
    profiles merged into the restored ones (``merged_into`` is one hop).
    """
    holder_of = {restored_id: holder_id for holder_id, restored_id, _merge_id in pairs}
    family = {restored_id: restored_id for restored_id in holder_of}
    family.update(
        Profile.objects.filter(merged_into_id__in=holder_of).values_list("pk", "merged_into_id")
    )
    rows = Q(pk__in=[])
    whens = []
    for origin_id, restored_id in family.items():
        row = Q(profile_id=holder_of[restored_id], origin_profile_id=origin_id)
        rows |= row
        whens.append(When(row, then=Value(restored_id)))
    return rows, Case(*whens, output_field=BigIntegerField())
