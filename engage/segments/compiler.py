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


def member_query(
    rules: dict,
    *,
    workspace_id: int,
    now: datetime.datetime,
    profile_ids: list[int] | None = None,
) -> Query:
    """The query selecting the member profile ids of ``rules`` as of ``now``.

    With ``profile_ids`` only those profiles are considered (the real-time
    re-check); see ``member_condition``.
    """
    condition = member_condition(rules, workspace_id=workspace_id, now=now, profile_ids=profile_ids)
    sql = (
        f"SELECT p.id FROM {PROFILES} p"  # noqa: S608 - table/column names are constants, values are params
        " WHERE p.workspace_id = %s AND p.merged_into_id IS NULL"
    )
    head = [workspace_id]
    if profile_ids is not None:
        ids_sql, ids_params = Dialect(connection).in_ids("p.id", profile_ids)
        sql += f" AND {ids_sql}"
        head += ids_params
    return Query(f"{sql} AND ({condition.sql})", head + condition.params)


def member_condition(
    rules: dict,
    *,
    workspace_id: int,
    now: datetime.datetime,
    profile_ids: list[int] | None = None,
) -> Query:
    """The condition of ``rules`` on the profile ``p``. With ``profile_ids``
    (a re-check of those profiles) counts and occurrences are asked per
    profile instead of for the whole workspace (see ``conditions.event``)."""
    compiler = Compiler(
        Dialect(connection), workspace_id=workspace_id, now=now, profile_ids=profile_ids
    )
    return Query(*compiler.node(rules))


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
