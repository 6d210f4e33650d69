"""Who is in a segment: evaluate the compiled query, and keep the stored
membership in step with it.

A refresh is set-based: the segment's query runs once inside an
``INSERT … SELECT`` for the profiles entering and an ``UPDATE`` for those
leaving, so no profile id travels through Python however big the segment.
Each entry and exit is also written as an event on the profile
(``segment_entered`` / ``segment_exited``), already processed, so that it shows
on the timeline and journeys can trigger on it.
"""

import datetime

from django.db import connection

from .compiler import member_query


def evaluate(
    rules: dict,
    *,
    workspace_id: int,
    now: datetime.datetime,
    profile_ids: list[int] | None = None,
) -> set[int]:
    """The ids of the profiles matching ``rules`` as of ``now``."""
    query = member_query(rules, workspace_id=workspace_id, now=now, profile_ids=profile_ids)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return {row[0] for row in cursor.fetchall()}
