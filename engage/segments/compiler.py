"""Compile a validated rule tree into one parameterized SQL query.

The query selects the ids of the member profiles of one workspace::

    SELECT p.id FROM profiles_profile p
    WHERE p.workspace_id = %s AND p.merged_into_id IS NULL AND (<condition>)

Each leaf condition is compiled by its module in ``conditions`` (events
become ``EXISTS`` probes or grouped ``IN`` subqueries, see
``conditions.event``).

Every condition is two-valued (never SQL NULL), so ``not`` is plain ``NOT``.
Windows are relative to the ``now`` the caller passes, never the database
clock, so a refresh is reproducible and tests can move time.

Two dialects: PostgreSQL (jsonb operators) and SQLite, the embedded default
(``json_extract``/``json_type``; slower, same results).
"""

import datetime
import json
from dataclasses import dataclass

from django.db import connection

from engage.profiles.models import Profile

from . import schema
from .conditions import CONDITIONS

PROFILES = Profile._meta.db_table
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}"


@dataclass(frozen=True)
class Query:
    sql: str
    params: list


def member_query(
    rules: dict,
    *,
    workspace_id: int,
    now: datetime.datetime,
    profile_ids: list[int] | None = None,
    vendor: str | None = None,
) -> Query:
    """The query selecting the member profile ids of ``rules`` as of ``now``.

    With ``profile_ids`` only those profiles are considered (the real-time
    re-check); the restriction is pushed into the event subqueries too, so
    they probe the per-profile index instead of scanning a whole window.
    """
    dialect = _dialect(vendor or connection.vendor)
    compiler = Compiler(dialect, workspace_id=workspace_id, now=now, profile_ids=profile_ids)
    condition, params = compiler.node(rules)
    sql = (
        f"SELECT p.id FROM {PROFILES} p"  # noqa: S608 - table/column names are constants, values are params
        " WHERE p.workspace_id = %s AND p.merged_into_id IS NULL"
    )
    head = [workspace_id]
    if profile_ids is not None:
        ids_sql, ids_params = dialect.in_ids("p.id", profile_ids)
        sql += f" AND {ids_sql}"
        head += ids_params
    return Query(f"{sql} AND ({condition})", head + params)


def _dialect(vendor: str) -> "_Dialect":
    if vendor == "postgresql":
        return _Postgres()
    if vendor == "sqlite":
        return _SQLite()
    raise NotImplementedError(f"segments run on PostgreSQL or SQLite, not {vendor}")


class Compiler:
    """Walks the groups; each leaf is compiled by its module in ``conditions``,
    which reads ``d``, ``workspace_id``, ``now`` and ``profile_ids`` here."""

    def __init__(self, dialect, *, workspace_id, now, profile_ids):
        self.d = dialect
        self.workspace_id = workspace_id
        self.now = now
        self.profile_ids = profile_ids

    def node(self, node: dict) -> tuple[str, list]:
        kind = schema.node_kind(node)
        body = node[kind]
        if kind in schema.GROUP_KINDS:
            parts = [self.node(child) for child in body]
            joiner = f" {kind.upper()} "
            return joiner.join(f"({sql})" for sql, _ in parts), [p for _, ps in parts for p in ps]
        if kind == schema.NOT:
            sql, params = self.node(body)
            return f"NOT ({sql})", params
        return CONDITIONS[kind].to_sql(self, body)


class _Dialect:
    false = "FALSE"

    def coalesce(self, sql: str) -> str:
        return f"COALESCE(({sql}), {self.false})"

    def timestamp(self, value: datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)

    def in_ids(self, column: str, ids: list[int]) -> tuple[str, list]:
        if not ids:
            return self.false, []
        return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


class _Postgres(_Dialect):
    """jsonb: ``#>`` keeps JSON types, so equality and order are type-aware."""

    def timestamp(self, value: datetime.datetime):
        return value

    def in_ids(self, column: str, ids: list[int]) -> tuple[str, list]:
        return f"{column} = ANY(%s::bigint[])", [list(ids)]

    def present(self, column, path):
        return f"jsonb_typeof({column} #> %s::text[]) <> 'null'", [path]

    def equals(self, column, path, value):
        # Containment of {"a": {"b": value}}: type-aware equality that is never
        # NULL and cheaper than extracting the path (see docs/performance.md).
        # An array holding the value does not match: containment lets a
        # top-level array contain a scalar, and ``column`` is always an object.
        nested = value
        for key in reversed(path):
            nested = {key: nested}
        return f"{column} @> %s::jsonb", [json.dumps(nested)]

    def contains(self, column, path, value):
        in_array = (
            f"jsonb_typeof({column} #> %s::text[]) = 'array'"
            f" AND {column} #> %s::text[] @> %s::jsonb"
        )
        params = [path, path, json.dumps([value])]
        if not isinstance(value, str):
            return in_array, params
        in_text = (
            f"jsonb_typeof({column} #> %s::text[]) = 'string'"
            f" AND strpos({column} #>> %s::text[], %s) > 0"
        )
        return f"({in_text}) OR ({in_array})", [path, path, value, *params]

    def compare(self, column, path, op, number):
        return (
            f"jsonb_typeof({column} #> %s::text[]) = 'number'"
            f" AND {column} #> %s::text[] {op} %s::jsonb",
            [path, path, json.dumps(number)],
        )

    def date_compare(self, column, path, op, text):
        value = f"({column} #>> %s::text[])"
        return (
            f"jsonb_typeof({column} #> %s::text[]) = 'string' AND {value} ~ %s"
            f" AND replace(substr({value}, 1, 19), ' ', 'T') COLLATE \"C\" {op} %s",
            [path, path, DATE_PATTERN, path, text],
        )


class _SQLite(_Dialect):
    """json_extract returns SQL values, so json_type guards each comparison."""

    false = "0"
    NUMBER = "IN ('integer', 'real')"

    @staticmethod
    def _path(path: list[str]) -> str:
        return "$" + "".join(f'."{part}"' for part in path)

    def present(self, column, path):
        return f"json_type({column}, %s) <> 'null'", [self._path(path)]

    def equals(self, column, path, value):
        jpath = self._path(path)
        if isinstance(value, bool):
            return f"json_type({column}, %s) = %s", [jpath, "true" if value else "false"]
        kind = "= 'text'" if isinstance(value, str) else self.NUMBER
        return (
            f"json_type({column}, %s) {kind} AND json_extract({column}, %s) = %s",
            [jpath, jpath, value],
        )

    def contains(self, column, path, value):
        jpath = self._path(path)
        kind = "= 'text'" if isinstance(value, str) else self.NUMBER
        in_array = (
            f"json_type({column}, %s) = 'array' AND EXISTS"  # noqa: S608 - table/column names are constants, values are params
            f" (SELECT 1 FROM json_each({column}, %s)"
            f" j WHERE j.type {kind} AND j.value = %s)"
        )
        params = [jpath, jpath, value]
        if not isinstance(value, str):
            return in_array, params
        in_text = f"json_type({column}, %s) = 'text' AND instr(json_extract({column}, %s), %s) > 0"
        return f"({in_text}) OR ({in_array})", [jpath, jpath, value, *params]

    def compare(self, column, path, op, number):
        jpath = self._path(path)
        return (
            f"json_type({column}, %s) {self.NUMBER} AND json_extract({column}, %s) {op} %s",
            [jpath, jpath, number],
        )

    def date_compare(self, column, path, op, text):
        jpath = self._path(path)
        value = f"json_extract({column}, %s)"
        return (
            f"json_type({column}, %s) = 'text'"
            f" AND {value} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'"
            f" AND replace(substr({value}, 1, 19), ' ', 'T') {op} %s",
            [jpath, jpath, jpath, text],
        )
