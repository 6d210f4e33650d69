"""Who is in a segment: evaluate the compiled query, and keep the stored
membership in step with it.

Both ways of keeping it in step are set-based. A full refresh runs the
segment's query inside one ``INSERT … SELECT`` for the profiles entering and
one ``UPDATE`` for those leaving, so the membership itself never moves
profile ids through Python. The real-time re-check of a few profiles
(``refresh_profiles``) does the opposite, for many segments at once: one
statement evaluates every segment's query for those profiles, one reads
their current stays, and the difference is written in one insert and one
update, so a batch costs the same statements for 2 segments as for 20.

Each entry and exit is also written as an event on the profile
(``segment_entered`` / ``segment_exited``, already processed) through the
events app's ``record_events``, 1,000 at a time, so it shows on the timeline
and is announced: segments referring to this one, and journeys, react to it.
The message id of those events is derived from the membership row, so running
the same refresh twice writes nothing twice.
"""

import datetime
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from engage.bulk import int_array
from engage.dialect import Dialect
from engage.events.recording import CHUNK, EventToRecord, record_events
from engage.profiles import repoint

from .compiler import PROFILES, member_condition, member_query
from .models import Segment, SegmentMembership, SegmentSize

# A dynamic segment whose rules were saved after its last full refresh: its
# refresh was never published (a broker outage) or has not run yet.
STALE = Q(kind=Segment.DYNAMIC) & (
    Q(refreshed_at__isnull=True) | Q(refreshed_at__lt=F("updated_at"))
)

ENTERED = "segment_entered"
EXITED = "segment_exited"
MEMBERSHIPS = SegmentMembership._meta.db_table
# Parameters per statement of a re-check: SQLite allows 32,766 (PostgreSQL
# 65,535), and there each id of a re-check is one (on PostgreSQL a list of
# ids is one array parameter).
MAX_PARAMS = 30_000

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    entered: int
    exited: int


def evaluate(
    rules: dict,
    *,
    workspace_id: int,
    now: datetime.datetime,
    profile_ids: list[int] | None = None,
) -> set[int]:
    """The ids of the profiles matching ``rules`` as of ``now`` (among
    ``profile_ids``, when given: see ``matching``)."""
    if profile_ids is not None:
        found = matching(
            {"rules": rules}, workspace_id=workspace_id, now=now, profile_ids=profile_ids
        )
        return {profile_id for _, profile_id in found}
    query = member_query(rules, workspace_id=workspace_id, now=now)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return {row[0] for row in cursor.fetchall()}


def matching(
    conditions: dict[str, dict],
    *,
    workspace_id: int,
    now: datetime.datetime,
    profile_ids: list[int],
) -> set[tuple[str, int]]:
    """(name, profile id) for each rule tree of ``conditions`` ({name: rules})
    that a profile among ``profile_ids`` matches as of ``now``.

    One statement reads each profile once and answers every rule tree as a
    column of its row, named by its name. In the select list PostgreSQL
    keeps each condition a subquery run for that profile (index probes),
    where in a ``WHERE`` it made them joins, planned for the table sizes its
    statistics gave: on tables growing faster than they are analyzed, each
    of 20 segments re-checked read every profile and every order of the
    workspace (the pipeline benchmark: 60 to 550 ms a round). The ids are
    cut where the parameters would pass ``MAX_PARAMS`` (SQLite).
    """
    names = list(conditions)
    columns, params = [], []
    for name in names:
        condition = member_condition(
            conditions[name], workspace_id=workspace_id, now=now, per_profile=True
        )
        columns.append(f"({condition.sql}) AS {connection.ops.quote_name(name)}")
        params += condition.params
    dialect = Dialect(connection)
    found: set[tuple[str, int]] = set()
    size = max(1, MAX_PARAMS - len(params))
    with connection.cursor() as cursor:
        for start in range(0, len(profile_ids), size):
            ids_sql, ids_params = dialect.in_ids("p.id", profile_ids[start : start + size])
            cursor.execute(
                f"SELECT p.id, {', '.join(columns)} FROM {PROFILES} p"  # noqa: S608 - constant table; the conditions are parameterized
                f" WHERE p.workspace_id = %s AND p.merged_into_id IS NULL AND {ids_sql}",
                [*params, workspace_id, *ids_params],
            )
            for profile_id, *matches in cursor.fetchall():
                found.update(
                    (name, profile_id) for name, match in zip(names, matches, strict=True) if match
                )
    return found


def refresh(
    segment: Segment,
    *,
    now: datetime.datetime | None = None,
    profile_ids: list[int] | None = None,
) -> Change:
    """Bring a dynamic segment's stored membership in line with its rules.

    With ``profile_ids`` only those profiles are re-checked (the real-time
    path, ``refresh_profiles`` for one segment); otherwise the whole
    workspace is. A full refresh locks the segment row, so two of them take
    turns.
    """
    if profile_ids is not None:
        changes = refresh_profiles([segment], profile_ids, now=now)
        return changes.get(segment.pk, Change(entered=0, exited=0))
    _require_rules(segment)
    now = now or timezone.now()
    query = member_query(segment.rules, workspace_id=segment.workspace_id, now=now)
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).first()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {MEMBERSHIPS} (segment_id, profile_id, entered_at)"  # noqa: S608 - constant tables; the member query is parameterized
                f" SELECT %s, q.id, %s FROM ({query.sql}) q WHERE NOT EXISTS"
                f" (SELECT 1 FROM {MEMBERSHIPS} m WHERE m.segment_id = %s"
                " AND m.profile_id = q.id AND m.exited_at IS NULL) ON CONFLICT DO NOTHING",
                [segment.pk, _db(now), *query.params, segment.pk],
            )
            entered = cursor.rowcount
            cursor.execute(
                f"UPDATE {MEMBERSHIPS} SET exited_at = %s"  # noqa: S608 - constant tables; the member query is parameterized
                " WHERE segment_id = %s AND exited_at IS NULL"
                f" AND profile_id NOT IN ({query.sql})",
                [_db(now), segment.pk, *query.params],
            )
            exited = cursor.rowcount
        _record_events(segment, now, entered=entered, exited=exited)
        _record_size(segment, now)
    return Change(entered=entered, exited=exited)


def refresh_profiles(
    segments: list[Segment],
    profile_ids: list[int],
    *,
    now: datetime.datetime | None = None,
) -> dict[int, Change]:
    """Re-check ``segments`` for ``profile_ids``: the real-time path after a
    batch of events. Returns the change of each segment that changed.

    The statements are the same whatever the number of segments: one
    evaluates every segment's query for the profiles (``UNION ALL``, serial
    on PostgreSQL), one reads their current stays, one inserts the stays
    that begin and one ends those that stop, one records their events
    (announced once, after the commit), and two store the counts and today's
    sizes of the segments that changed. No segment row is locked until those last two, so workers
    re-checking the same segments only queue on them briefly. Two re-checks
    entering the same profile meet on the one-current-stay unique index: the
    second inserts nothing and records no event; likewise a stay ends once.
    """
    for segment in segments:
        _require_rules(segment)
    ids = sorted(set(profile_ids))
    if not segments or not ids:
        return {}
    now = now or timezone.now()
    by_id = {segment.pk: segment for segment in segments}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Each part of the union is a few index probes: PostgreSQL
                # would run it in parallel workers, whose start costs more
                # than the statement (20 segments, 250 customers, EXPLAIN
                # ANALYZE: 18-24 ms in parallel, 9 ms serial).
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        members = _members(segments, ids, now)
        stays = _current_stays(list(by_id), ids)
        entered = _begin_stays(sorted(members - stays.keys()), now)
        exited = _end_stays(sorted(stays[key] for key in stays.keys() - members), now)
        if not entered and not exited:
            return {}
        record_events(
            [
                _membership_event(by_id[segment_id], name, membership_id, profile_id, now)
                for name, rows in ((ENTERED, entered), (EXITED, exited))
                for membership_id, segment_id, profile_id in rows
            ]
        )
        entries = Counter(segment_id for _, segment_id, _ in entered)
        exits = Counter(segment_id for _, segment_id, _ in exited)
        changes = {
            segment_id: Change(entered=entries[segment_id], exited=exits[segment_id])
            for segment_id in sorted({*entries, *exits})
        }
        sizes = _move_counts(
            {segment_id: c.entered - c.exited for segment_id, c in changes.items()}, now
        )
    for segment_id, size in sizes.items():
        by_id[segment_id].member_count = size
    return changes


def _require_rules(segment: Segment) -> None:
    if segment.kind != Segment.DYNAMIC:
        raise ValueError("only dynamic segments have rules to refresh")


def _members(
    segments: list[Segment], profile_ids: list[int], now: datetime.datetime
) -> set[tuple[int, int]]:
    """(segment id, profile id) of every member among ``profile_ids``: one
    ``matching`` statement per workspace, each segment's column named after
    it, so the statement reads as which segments it re-checks."""
    by_workspace: dict[int, dict[str, Segment]] = defaultdict(dict)
    for segment in segments:
        by_workspace[segment.workspace_id][f"segment {int(segment.pk)}"] = segment
    found: set[tuple[int, int]] = set()
    for workspace_id, named in by_workspace.items():
        conditions = {name: segment.rules for name, segment in named.items()}
        rows = matching(conditions, workspace_id=workspace_id, now=now, profile_ids=profile_ids)
        found.update((named[name].pk, profile_id) for name, profile_id in rows)
    return found


def _current_stays(segment_ids: list[int], profile_ids: list[int]) -> dict[tuple[int, int], int]:
    """(segment id, profile id) -> id of the current stay, for those segments and profiles."""
    dialect = Dialect(connection)
    segments_sql, segments_params = dialect.in_ids("segment_id", segment_ids)
    profiles_sql, profiles_params = dialect.in_ids("profile_id", profile_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT segment_id, profile_id, id FROM {MEMBERSHIPS}"  # noqa: S608 - constant table; ids are params
            f" WHERE exited_at IS NULL AND {segments_sql} AND {profiles_sql}",
            [*segments_params, *profiles_params],
        )
        return {(segment_id, profile_id): pk for segment_id, profile_id, pk in cursor.fetchall()}


def _begin_stays(
    pairs: list[tuple[int, int]], now: datetime.datetime
) -> list[tuple[int, int, int]]:
    """Insert a current stay for each (segment id, profile id), in that order
    (so two workers entering the same profiles wait on each other instead of
    deadlocking); returns (id, segment id, profile id) of the rows written,
    without those another re-check wrote first."""
    written = []
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), MAX_PARAMS // 2):
            chunk = pairs[start : start + MAX_PARAMS // 2]
            if connection.vendor == "postgresql":
                rows = "unnest(%s::bigint[], %s::bigint[])"
                params = [int_array(s for s, _ in chunk), int_array(p for _, p in chunk)]
            else:
                rows = "(VALUES " + ", ".join(["(%s, %s)"] * len(chunk)) + ")"
                params = [value for pair in chunk for value in pair]
            cursor.execute(
                f"INSERT INTO {MEMBERSHIPS} (segment_id, profile_id, entered_at)"  # noqa: S608 - constant table; ids are params
                # WHERE TRUE: SQLite would read the ON of the upsert as a join's.
                f" SELECT v.*, %s FROM {rows} v WHERE TRUE ON CONFLICT DO NOTHING"
                " RETURNING id, segment_id, profile_id",
                [_db(now), *params],
            )
            written += cursor.fetchall()
    return written


def _end_stays(stay_ids: list[int], now: datetime.datetime) -> list[tuple[int, int, int]]:
    """End the stays ``stay_ids`` that have not ended yet; returns (id,
    segment id, profile id) of those this call ended."""
    dialect = Dialect(connection)
    ended = []
    with connection.cursor() as cursor:
        for start in range(0, len(stay_ids), MAX_PARAMS):
            ids_sql, ids_params = dialect.in_ids("id", stay_ids[start : start + MAX_PARAMS])
            cursor.execute(
                f"UPDATE {MEMBERSHIPS} SET exited_at = %s"  # noqa: S608 - constant table; ids are params
                f" WHERE {ids_sql} AND exited_at IS NULL RETURNING id, segment_id, profile_id",
                [_db(now), *ids_params],
            )
            ended += cursor.fetchall()
    return ended


def _membership_event(
    segment: Segment, name: str, membership_id: int, profile_id: int, now: datetime.datetime
) -> EventToRecord:
    return EventToRecord(
        workspace_id=segment.workspace_id,
        profile_id=profile_id,
        name=name,
        message_id=f"{name}:{membership_id}",
        timestamp=now,
        properties={"segment_id": segment.pk, "segment_name": segment.name},
    )


def add_members(segment: Segment, profile_ids: list[int], *, replace: bool = False) -> Change:
    """Make ``profile_ids`` members of a static segment; with ``replace`` the
    current members not listed leave it."""
    now = timezone.now()
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).first()
        current = set(
            SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).values_list(
                "profile_id", flat=True
            )
        )
        wanted = set(profile_ids)
        SegmentMembership.objects.bulk_create(
            SegmentMembership(segment=segment, profile_id=pid, entered_at=now)
            for pid in sorted(wanted - current)
        )
        leaving = current - wanted if replace else set()
        SegmentMembership.objects.filter(
            segment=segment, exited_at__isnull=True, profile_id__in=leaving
        ).update(exited_at=now)
        entered = len(wanted - current)
        _record_events(segment, now, entered=entered, exited=len(leaving))
        _record_size(segment, now)
    return Change(entered=entered, exited=len(leaving))


def _record_events(segment: Segment, now: datetime.datetime, *, entered: int, exited: int) -> None:
    """One event per membership that started or ended at ``now``, through the
    events app's ``record_events``, which announces them after the commit (so
    segments referring to this one re-check).

    The memberships are read and written ``CHUNK`` at a time, so a refresh
    entering a million customers never holds them all.
    """
    for name, column, count in ((ENTERED, "entered_at", entered), (EXITED, "exited_at", exited)):
        if not count:
            continue
        changed = SegmentMembership.objects.filter(segment=segment, **{column: now})
        rows = []
        for membership_id, profile_id in changed.values_list("id", "profile_id").iterator(
            chunk_size=CHUNK
        ):
            rows.append(_membership_event(segment, name, membership_id, profile_id, now))
            if len(rows) == CHUNK:
                record_events(rows)
                rows = []
        if rows:
            record_events(rows)


def _db(value: datetime.datetime):
    """A datetime as the ORM stores it, so raw SQL compares equal to ORM-written
    rows (SQLite keeps datetimes as text in one format)."""
    return connection.ops.adapt_datetimefield_value(value)


def _record_size(segment: Segment, now: datetime.datetime) -> None:
    """Store the segment's member count, counted, and today's size (the last
    write of the day wins)."""
    size = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).count()
    Segment.objects.filter(pk=segment.pk).update(member_count=size, refreshed_at=now)
    segment.member_count = size
    _store_sizes({segment.pk: size}, now)


def _move_counts(changes: dict[int, int], now: datetime.datetime) -> dict[int, int]:
    """Move each segment's member count by its change and store today's
    sizes; returns the new counts.

    Two statements whatever the number of segments (a re-check, a batch of
    merges): one ``UPDATE … RETURNING`` of the counts, one upsert of the
    sizes. On PostgreSQL the rows are locked in id order first, so two
    workers moving the counts of the same segments queue instead of
    deadlocking.
    """
    if not changes:
        return {}
    table = connection.ops.quote_name(Segment._meta.db_table)
    ids_sql, ids_params = Dialect(connection).in_ids("id", sorted(changes))
    # The lock the UPDATE takes anyway (the count is no key), taken in id order.
    lock = " ORDER BY id FOR NO KEY UPDATE" if connection.vendor == "postgresql" else ""
    cases = " ".join(["WHEN %s THEN %s"] * len(changes))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET member_count = member_count + CASE id {cases} END"  # noqa: S608 - the model's table; values are params
            f" WHERE id IN (SELECT id FROM {table} WHERE {ids_sql}{lock})"
            " RETURNING id, member_count",
            [value for pair in sorted(changes.items()) for value in pair] + ids_params,
        )
        sizes = dict(cursor.fetchall())
    _store_sizes(sizes, now)
    return sizes


def _store_sizes(sizes: dict[int, int], now: datetime.datetime) -> None:
    """Upsert today's size of each segment, in one statement, in segment order."""
    SegmentSize.objects.bulk_create(
        [
            SegmentSize(segment_id=segment_id, date=now.date(), size=size)
            for segment_id, size in sorted(sizes.items())
        ],
        update_conflicts=True,
        unique_fields=["segment", "date"],
        update_fields=["size"],
    )


def repoint_memberships(*, pairs: list[tuple[int, int, int]]) -> None:
    """After a batch of merges each survivor inherits its merged profiles' memberships.

    Where the survivor, or another profile merged into it, was a current
    member of the same segment, the merged profile's stay ends (the
    survivor's, or the earliest stay, continues); every row then points at its
    survivor, so history is kept. One UPDATE each, whatever the number of pairs;
    nothing but one probe when no merged profile was ever a member (the new
    devices processing merges).
    """
    target = repoint.survivors(pairs)
    if not repoint.holding([SegmentMembership], target):
        return
    moves, params = repoint.survivor_table(target)
    table = connection.ops.quote_name(SegmentMembership._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {moves} SELECT r.id, r.segment_id FROM {table} r"  # noqa: S608 - the model's table, ids are params
            " JOIN moves ON moves.merged_id = r.profile_id"
            " WHERE r.exited_at IS NULL AND ("
            f" EXISTS (SELECT 1 FROM {table} s WHERE s.profile_id = moves.survivor_id"
            "  AND s.segment_id = r.segment_id AND s.exited_at IS NULL)"
            f" OR EXISTS (SELECT 1 FROM {table} e"
            "  JOIN moves earlier ON earlier.merged_id = e.profile_id"
            "  WHERE earlier.survivor_id = moves.survivor_id AND e.segment_id = r.segment_id"
            "  AND e.exited_at IS NULL AND e.id < r.id))",
            params,
        )
        doubled = cursor.fetchall()
        if doubled:
            SegmentMembership.objects.filter(pk__in=[pk for pk, _ in doubled]).update(exited_at=now)
            # Two members became one customer: each such segment has one member less.
            ended = Counter(segment_id for _, segment_id in doubled)
            _move_counts({segment_id: -count for segment_id, count in ended.items()}, now)
        cursor.execute(
            f"WITH {moves} UPDATE {table} SET profile_id = ("  # noqa: S608 - the model's table, ids are params
            f" SELECT survivor_id FROM moves WHERE merged_id = {table}.profile_id)"
            " WHERE profile_id IN (SELECT merged_id FROM moves)",
            params,
        )


def refresh_stale_segments() -> int:
    """Refresh every stale dynamic segment (``STALE``); returns how many were refreshed.

    The sweep behind ``save_segment``'s publish. A segment whose refresh is
    running holds its row lock and is skipped (no second full refresh behind
    it); one that fails is logged and retried next run, without starving the
    others.
    """
    count = 0
    for pk in Segment.objects.filter(STALE).order_by("pk").values_list("pk", flat=True):
        try:
            with transaction.atomic():
                segment = Segment.objects.select_for_update(skip_locked=True).filter(STALE, pk=pk)
                segment = segment.first()
                if segment is None:
                    continue  # being refreshed right now, or refreshed meanwhile
                refresh(segment)
        except Exception:
            logger.exception("refreshing stale segment %s failed", pk)
            continue
        count += 1
    return count
