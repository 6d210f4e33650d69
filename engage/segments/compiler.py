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

It runs on PostgreSQL and on SQLite, the embedded default (slower, same
results): the pieces that differ come from ``engage.dialect``.
"""

import datetime
from dataclasses import dataclass

from django.db import connection

from engage.dialect import Dialect
from engage.profiles.models import Profile

from . import schema
from .conditions import CONDITIONS

PROFILES = Profile._meta.db_table


@dataclass(frozen=True)
class Query:
    sql: str
    params: list


def member_query(rules: dict, *, workspace_id: int, now: datetime.datetime) -> Query:
    """The query selecting the member profile ids of ``rules`` as of ``now``
    (for a few given profiles, ``membership.matching`` asks instead)."""
    condition = member_condition(rules, workspace_id=workspace_id, now=now)
    sql = (
        f"SELECT p.id FROM {PROFILES} p"  # noqa: S608 - table/column names are constants, values are params
        " WHERE p.workspace_id = %s AND p.merged_into_id IS NULL"
        f" AND ({condition.sql})"
    )
    return Query(sql, [workspace_id, *condition.params])


def member_condition(
    rules: dict, *, workspace_id: int, now: datetime.datetime, per_profile: bool = False
) -> Query:
    """The condition of ``rules`` on the profile ``p``. ``per_profile`` (a
    re-check of a few given profiles) asks counts and occurrences of each
    profile instead of the whole workspace (see ``conditions.event``)."""
    compiler = Compiler(
        Dialect(connection), workspace_id=workspace_id, now=now, per_profile=per_profile
    )
    return Query(*compiler.node(rules))


class Compiler:
    """Walks the groups; each leaf is compiled by its module in ``conditions``,
    which reads ``d``, ``workspace_id``, ``now`` and ``per_profile`` here."""

    def __init__(self, dialect, *, workspace_id, now, per_profile):
        self.d = dialect
        self.workspace_id = workspace_id
        self.now = now
        self.per_profile = per_profile

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
