"""Compile a validated rule tree into one parameterized SQL query.

The query selects the ids of the member profiles of one workspace::

    SELECT p.id FROM profiles_profile p
    WHERE p.workspace_id = %s AND p.merged_into_id IS NULL AND (<condition>)

Each event condition becomes an ``EXISTS`` probe ("did X"), or an
``IN (SELECT profile_id … GROUP BY profile_id HAVING …)`` for counts and
first/last occurrences, so PostgreSQL answers with semi/anti joins over the
``(workspace, name, timestamp, profile)`` and ``(profile, name, timestamp)``
event indexes instead of a loop over profiles (see docs/performance.md).

Every condition is two-valued (never SQL NULL), so ``not`` is plain ``NOT``.
Windows are relative to the ``now`` the caller passes, never the database
clock, so a refresh is reproducible and tests can move time.

Two dialects: PostgreSQL (jsonb operators) and SQLite, the embedded default
(``json_extract``/``json_type``; slower, same results).
"""

import datetime
import json
from dataclasses import dataclass

from django.apps import apps
from django.db import connection

from engage.events.models import Event
from engage.profiles.models import Identity, Profile

from . import schema

PROFILES = Profile._meta.db_table
EVENTS = Event._meta.db_table
IDENTITIES = Identity._meta.db_table
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


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
    compiler = _Compiler(dialect, workspace_id=workspace_id, now=now, profile_ids=profile_ids)
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


class _Compiler:
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
        return getattr(self, kind)(body)

    def trait(self, body: dict) -> tuple[str, list]:
        return self.value_condition("p.traits", body["key"], body["op"], body.get("value"))

    def identity(self, body: dict) -> tuple[str, list]:
        sql = f"EXISTS (SELECT 1 FROM {IDENTITIES} i WHERE i.profile_id = p.id"  # noqa: S608 - constant table
        if body["kind"] == schema.ANY_IDENTITY:
            return sql + ")", []
        return sql + " AND i.kind = %s)", [body["kind"]]

    def consent(self, body: dict) -> tuple[str, list]:
        """The latest consent row for the topic on this channel (or on every
        channel, stored as an empty channel) has the status."""
        from engage.messaging.models import Consent

        latest = (
            f"(SELECT c.status FROM {Consent._meta.db_table} c"  # noqa: S608 - table/column names are constants, values are params
            " WHERE c.profile_id = p.id"
            " AND c.topic = %s AND c.channel IN (%s, '')"
            " ORDER BY c.created_at DESC, c.id DESC LIMIT 1)"
        )
        topic = body.get("topic", schema.DEFAULT_CONSENT_TOPIC)
        return self.d.coalesce(f"{latest} = %s"), [topic, body["channel"], body["status"]]

    def score(self, body: dict) -> tuple[str, list]:
        """The current score of a model (one row per profile and model, written
        by the scoring app); without the scoring app nobody has a score."""
        try:
            table = apps.get_model("scoring", "Score")._meta.db_table
        except LookupError:
            return self.d.false, []
        sql = f"EXISTS (SELECT 1 FROM {table} s"  # noqa: S608 - table/column names are constants, values are params
        sql += " WHERE s.profile_id = p.id AND s.model = %s"
        params = [body["model"]]
        if "cell" in body:
            cells = body["cell"] if isinstance(body["cell"], list) else [body["cell"]]
            sql += f" AND s.cell IN ({', '.join(['%s'] * len(cells))}))"
            return sql, params + cells
        if body["op"] == "between":
            return sql + " AND s.value BETWEEN %s AND %s)", params + list(body["value"])
        return sql + f" AND s.value {COMPARISONS[body['op']]} %s)", [*params, body["value"]]

    def segment(self, body: dict) -> tuple[str, list]:
        from .models import SegmentMembership

        table = SegmentMembership._meta.db_table
        return (
            f"EXISTS (SELECT 1 FROM {table} m"  # noqa: S608 - table/column names are constants, values are params
            " WHERE m.segment_id = %s"
            " AND m.profile_id = p.id AND m.exited_at IS NULL)",
            [body["id"]],
        )

    def event(self, body: dict) -> tuple[str, list]:
        sql, params = self._event(body)
        if body.get("did", True):
            return sql, params
        return f"NOT ({sql})", params

    def _event(self, body: dict) -> tuple[str, list]:
        where = ["e.workspace_id = %s", "e.name = %s", "e.timestamp <= %s"]
        params = [self.workspace_id, body["name"], self.d.timestamp(self.now)]
        for flt in body.get("where", []):
            sql, ps = self.value_condition(
                "e.properties", flt["property"], flt["op"], flt.get("value")
            )
            where.append(f"({sql})")
            params += ps
        lower, upper = self._window(body)
        if "occurrence" in body:
            aggregate = "MIN" if body["occurrence"] == "first" else "MAX"
            having, having_params = [], []
            if lower is not None:
                having.append(f"{aggregate}(e.timestamp) >= %s")
                having_params.append(lower)
            if upper is not None:
                having.append(f"{aggregate}(e.timestamp) < %s")
                having_params.append(upper)
            if not having:  # first or last ever: the event happened at all
                return self._exists(where, params)
            return self._grouped(where, params, " AND ".join(having), having_params, "IN")
        if lower is not None:
            where.append("e.timestamp >= %s")
            params.append(lower)
        if upper is not None:
            where.append("e.timestamp < %s")
            params.append(upper)
        least, most = body.get("at_least", 1), body.get("at_most")
        if least == 0:  # at most N, none included: nobody with more than N
            return self._grouped(where, params, "COUNT(*) > %s", [most], "NOT IN")
        if least == 1 and most is None:
            return self._exists(where, params)
        having, having_params = "COUNT(*) >= %s", [least]
        if most is not None:
            having += " AND COUNT(*) <= %s"
            having_params.append(most)
        return self._grouped(where, params, having, having_params, "IN")

    def _window(self, body: dict):
        lower = upper = None
        if "within_days" in body:
            lower = self.d.timestamp(self.now - datetime.timedelta(days=body["within_days"]))
        if "older_than_days" in body:
            upper = self.d.timestamp(self.now - datetime.timedelta(days=body["older_than_days"]))
        return lower, upper

    def _exists(self, where: list[str], params: list) -> tuple[str, list]:
        conditions = " AND ".join(["e.profile_id = p.id", *where])
        sql = f"EXISTS (SELECT 1 FROM {EVENTS} e WHERE {conditions})"  # noqa: S608 - table/column names are constants, values are params
        return sql, params

    def _grouped(self, where, params, having, having_params, membership) -> tuple[str, list]:
        where = [*where, "e.profile_id IS NOT NULL"]
        params = list(params)
        if self.profile_ids is not None:
            ids_sql, ids_params = self.d.in_ids("e.profile_id", self.profile_ids)
            where.append(ids_sql)
            params += ids_params
        sql = (
            f"p.id {membership} (SELECT e.profile_id FROM {EVENTS} e WHERE "  # noqa: S608 - table/column names are constants, values are params
            f"{' AND '.join(where)} GROUP BY e.profile_id HAVING {having})"
        )
        return sql, params + having_params

    def value_condition(self, column: str, key: str, op: str, value) -> tuple[str, list]:
        """A trait or event-property test; never NULL (a missing key is false)."""
        d, path = self.d, key.split(".")
        if op in schema.PRESENCE_OPS:
            sql, params = d.present(column, path)
            sql = d.coalesce(sql)
            return (sql, params) if op == "exists" else (f"NOT {sql}", params)
        if op in schema.SCALAR_OPS or op in schema.LIST_OPS:
            values = value if op in schema.LIST_OPS else [value]
            parts = [d.equals(column, path, v) for v in values]
            sql = d.coalesce(" OR ".join(f"({s})" for s, _ in parts))
            params = [p for _, ps in parts for p in ps]
            return (sql, params) if op in ("equals", "in") else (f"NOT {sql}", params)
        if op == "contains":
            sql, params = d.contains(column, path, value)
        elif op in COMPARISONS:
            sql, params = d.compare(column, path, COMPARISONS[op], value)
        elif op == "between":
            low, low_params = d.compare(column, path, ">=", value[0])
            high, high_params = d.compare(column, path, "<=", value[1])
            sql, params = f"({low}) AND ({high})", low_params + high_params
        elif op in schema.DATE_OPS:
            sql, params = d.date_compare(
                column, path, "<" if op == "before" else ">", _date_text(value)
            )
        else:
            cutoff = _date_text(self.now - datetime.timedelta(days=value))
            if op == "more_than_days_ago":
                sql, params = d.date_compare(column, path, "<", cutoff)
            else:
                low, low_params = d.date_compare(column, path, ">=", cutoff)
                high, high_params = d.date_compare(column, path, "<=", _date_text(self.now))
                sql, params = f"({low}) AND ({high})", low_params + high_params
        return d.coalesce(sql), params


def _date_text(value) -> str:
    """Dates are compared as ISO-8601 text in UTC, to the second (see docs/segments.md)."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return value[:19].replace(" ", "T")


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
