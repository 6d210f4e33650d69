"""The few SQL expressions that differ between PostgreSQL and SQLite.

Scoring models write one SQL text with these pieces, so the same statement
runs set-based on PostgreSQL and on the embedded SQLite default (which has
window functions and JSON1 too, only slower). Property names are always
passed as parameters, never formatted into the SQL.
"""

import json
from datetime import date, datetime
from typing import Any

from django.db import connection


class Dialect:
    def __init__(self, conn=connection):
        self.conn = conn
        self.pg = conn.vendor == "postgresql"

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

    def _path(self, key: str) -> str:
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
                f"CASE WHEN json_type({column}, %s) IN ('integer', 'real') "
                f"THEN json_extract({column}, %s) ELSE 0 END"
            )
        return sql, [self._path(key), self._path(key)]

    def property_equals(self, column: str, key: str, value: Any) -> tuple[str, list]:
        if self.pg:
            return f"{column} -> %s = CAST(%s AS jsonb)", [key, json.dumps(value)]
        if isinstance(value, bool):
            value = int(value)
        return f"json_extract({column}, %s) = %s", [self._path(key), value]

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
