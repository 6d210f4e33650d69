"""The SQL that differs between PostgreSQL and SQLite, in one place.

engage runs set-based SQL on PostgreSQL and on the embedded SQLite default
(which has window functions and JSON1 too, only slower): segment rules compile
to one query, scoring models write one SELECT (``run.sql``, see
docs/scoring.md). Both build the pieces that differ here, so a third database
or a fix to a JSON test is one module. JSON keys and paths are always passed
as parameters, never formatted into the SQL.

On PostgreSQL ``#>``/``->`` keep JSON types, so equality and order are
type-aware; on SQLite ``json_extract`` returns SQL values, so ``json_type``
guards each comparison.
"""

import json
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import BooleanField, F, Func, Q
from django.db.models.expressions import RawSQL

from engage.bulk import int_array

DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
SQLITE_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"
SQLITE_NUMBER = "IN ('integer', 'real')"


class Dialect:
    def __init__(self, conn=connection):
        if conn.vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"engage runs on PostgreSQL or SQLite, not {conn.vendor}")
        self.conn = conn
        self.pg = conn.vendor == "postgresql"
        self.false = "FALSE" if self.pg else "0"

    # Values and dates.

    def ts(self, value: datetime) -> Any:
        """A datetime parameter in the form the events table stores."""
        return self.conn.ops.adapt_datetimefield_value(value)

    def day(self, expr: str) -> str:
        return f"CAST({expr} AS date)" if self.pg else f"date({expr})"

    def date_param(self, value: date) -> tuple[str, Any]:
        return ("CAST(%s AS date)", value) if self.pg else ("date(%s)", value.isoformat())

    def days_between(self, later: str, earlier: str) -> str:
        """Fractional days from ``earlier`` to ``later`` (timestamps)."""
        if self.pg:
            return f"(EXTRACT(EPOCH FROM ({later}) - ({earlier})) / 86400.0)"
        return f"(julianday({later}) - julianday({earlier}))"

    def date_diff(self, later: str, earlier: str) -> str:
        """Whole days between two dates."""
        if self.pg:
            return f"(({later}) - ({earlier}))"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"MIN({a}, {b})"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"MAX({a}, {b})"

    # Conditions.

    def coalesce(self, sql: str) -> str:
        """A condition that is false where ``sql`` is NULL (two-valued logic)."""
        return f"COALESCE(({sql}), {self.false})"

    def in_ids(self, column: str, ids: list[int]) -> tuple[str, list]:
        if self.pg:
            return f"{column} = ANY(%s::bigint[])", [int_array(ids)]
        if not ids:
            return self.false, []
        return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)

    # A top-level property of a JSON column (scoring models).

    def _key(self, key: str) -> str:
        return key if self.pg else f'$."{key}"'

    def number_property(self, column: str, key: str) -> tuple[str, list]:
        """The property as a number; 0 when absent or not a JSON number."""
        if self.pg:
            sql = (
                f"CASE WHEN jsonb_typeof({column} -> %s) = 'number' "
                f"THEN CAST({column} ->> %s AS double precision) ELSE 0 END"
            )
        else:
            sql = (
                f"CASE WHEN json_type({column}, %s) {SQLITE_NUMBER} "
                f"THEN json_extract({column}, %s) ELSE 0 END"
            )
        return sql, [self._key(key), self._key(key)]

    def property_equals(self, column: str, key: str, value: Any) -> tuple[str, list]:
        if self.pg:
            return f"{column} -> %s = CAST(%s AS jsonb)", [key, json.dumps(value)]
        if isinstance(value, bool):
            value = int(value)
        return f"json_extract({column}, %s) = %s", [self._key(key), value]

    # A nested path of a JSON column (segment rules): every test is a JSON
    # type check and the comparison, so a value of another type never matches.

    def _path(self, path: list[str]) -> str | list[str]:
        return path if self.pg else "$" + "".join(f'."{part}"' for part in path)

    def present(self, column: str, path: list[str]) -> tuple[str, list]:
        if self.pg:
            return f"jsonb_typeof({column} #> %s::text[]) <> 'null'", [path]
        return f"json_type({column}, %s) <> 'null'", [self._path(path)]

    def equals(self, column: str, path: list[str], value) -> tuple[str, list]:
        if self.pg:
            # Containment of {"a": {"b": value}}: type-aware equality that is
            # never NULL and cheaper than extracting the path (see
            # docs/performance.md). An array holding the value does not match:
            # containment lets a top-level array contain a scalar, and
            # ``column`` is always an object.
            nested = value
            for key in reversed(path):
                nested = {key: nested}
            return f"{column} @> %s::jsonb", [json.dumps(nested)]
        jpath = self._path(path)
        if isinstance(value, bool):
            return f"json_type({column}, %s) = %s", [jpath, "true" if value else "false"]
        kind = "= 'text'" if isinstance(value, str) else SQLITE_NUMBER
        return (
            f"json_type({column}, %s) {kind} AND json_extract({column}, %s) = %s",
            [jpath, jpath, value],
        )

    def contains(self, column: str, path: list[str], value) -> tuple[str, list]:
        """An array holding the value, or (for text) a string containing it."""
        jpath = self._path(path)
        if self.pg:
            in_array = (
                f"jsonb_typeof({column} #> %s::text[]) = 'array'"
                f" AND {column} #> %s::text[] @> %s::jsonb"
            )
            params = [jpath, jpath, json.dumps([value])]
            in_text = (
                f"jsonb_typeof({column} #> %s::text[]) = 'string'"
                f" AND strpos({column} #>> %s::text[], %s) > 0"
            )
        else:
            kind = "= 'text'" if isinstance(value, str) else SQLITE_NUMBER
            in_array = (
                f"json_type({column}, %s) = 'array' AND EXISTS"  # noqa: S608 - table/column names are constants, values are params
                f" (SELECT 1 FROM json_each({column}, %s)"
                f" j WHERE j.type {kind} AND j.value = %s)"
            )
            params = [jpath, jpath, value]
            in_text = (
                f"json_type({column}, %s) = 'text' AND instr(json_extract({column}, %s), %s) > 0"
            )
        if not isinstance(value, str):
            return in_array, params
        return f"({in_text}) OR ({in_array})", [jpath, jpath, value, *params]

    def compare(self, column: str, path: list[str], op: str, number) -> tuple[str, list]:
        jpath = self._path(path)
        if self.pg:
            return (
                f"jsonb_typeof({column} #> %s::text[]) = 'number'"
                f" AND {column} #> %s::text[] {op} %s::jsonb",
                [jpath, jpath, json.dumps(number)],
            )
        return (
            f"json_type({column}, %s) {SQLITE_NUMBER} AND json_extract({column}, %s) {op} %s",
            [jpath, jpath, number],
        )

    def date_compare(self, column: str, path: list[str], op: str, text: str) -> tuple[str, list]:
        """ISO-8601 text compared as text, to the second; other values never match."""
        jpath = self._path(path)
        if self.pg:
            value = f"({column} #>> %s::text[])"
            return (
                f"jsonb_typeof({column} #> %s::text[]) = 'string' AND {value} ~ %s"
                f" AND replace(substr({value}, 1, 19), ' ', 'T') COLLATE \"C\" {op} %s",
                [jpath, jpath, DATE_PATTERN, jpath, text],
            )
        value = f"json_extract({column}, %s)"
        return (
            f"json_type({column}, %s) = 'text' AND {value} GLOB '{SQLITE_DATE_GLOB}'"
            f" AND replace(substr({value}, 1, 19), ' ', 'T') {op} %s",
            [jpath, jpath, jpath, text],
        )

    # Building JSON (scoring models' components).

    def json_object(self, pairs: dict[str, str]) -> str:
        """A JSON object of SQL expressions; keys are fixed names from the code."""
        fn = "jsonb_build_object" if self.pg else "json_object"
        args = ", ".join(f"'{key}', {expr}" for key, expr in pairs.items())
        return f"{fn}({args})"

    def json_array(self, exprs: list[str]) -> str:
        fn = "jsonb_build_array" if self.pg else "json_array"
        return f"{fn}({', '.join(exprs)})"

    def json_value(self, expr: str) -> str:
        """A JSON column read back from a subquery (SQLite forgets it was JSON)."""
        return expr if self.pg else f"json({expr})"

    def object_agg(self, key: str, value: str) -> str:
        return (
            f"jsonb_object_agg({key}, {value})" if self.pg else f"json_group_object({key}, {value})"
        )


def among(field: str, ids) -> Q | Func:
    """An ORM filter: ``field`` is one of ``ids``. As ``__in``, but on
    PostgreSQL the ids go as one array parameter: ``IN`` takes one
    parameter per id, which psycopg converts in several milliseconds for
    500."""
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": ids})
    # ``field = ANY(%s)``, spelled out: a lookup would parenthesize ANY(…).
    return Func(
        F(field),
        RawSQL("%s::bigint[]", (int_array(ids),)),
        template="%(expressions)s)",
        arg_joiner=" = ANY(",
        output_field=BooleanField(),
    )
