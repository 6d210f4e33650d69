"""Who is in a segment: evaluate the compiled query, and keep the stored
membership in step with it.

A refresh is set-based: the segment's query runs inside one ``INSERT …
SELECT`` for the profiles entering and one ``UPDATE`` for those leaving, so
the membership itself never moves profile ids through Python. Each entry and
exit is also written as an event on the profile (``segment_entered`` /
``segment_exited``, already processed) through the events app's
``record_events``, 1,000 at a time, so it shows on the timeline and is
announced: segments referring to this one, and later journeys, react to it.
The message id of those events is derived from the membership row, so running
the same refresh twice writes nothing twice.
"""

import datetime
import logging
from collections import Counter
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from engage.events.recording import CHUNK, EventToRecord, record_events
from engage.profiles import repoint

from .compiler import member_query
from .models import Segment, SegmentMembership, SegmentSize

# A dynamic segment whose rules were saved after its last full refresh: its
# refresh was never published (a broker outage) or has not run yet.
STALE = Q(kind=Segment.DYNAMIC) & (
    Q(refreshed_at__isnull=True) | Q(refreshed_at__lt=F("updated_at"))
)

ENTERED = "segment_entered"
EXITED = "segment_exited"
MEMBERSHIPS = SegmentMembership._meta.db_table

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
    """The ids of the profiles matching ``rules`` as of ``now``."""
    query = member_query(rules, workspace_id=workspace_id, now=now, profile_ids=profile_ids)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return {row[0] for row in cursor.fetchall()}


def refresh(
    segment: Segment,
    *,
    now: datetime.datetime | None = None,
    profile_ids: list[int] | None = None,
) -> Change:
    """Bring a dynamic segment's stored membership in line with its rules.

    With ``profile_ids`` only those profiles are re-checked (the real-time
    path); otherwise the whole workspace is. A full refresh locks the segment
    row, so two of them take turns; re-checks of a few profiles do not, so
    processing workers never queue behind each other on a busy segment (two
    re-checks entering the same profile meet on the one-current-stay unique
    index, and the second inserts nothing).
    """
    if segment.kind != Segment.DYNAMIC:
        raise ValueError("only dynamic segments have rules to refresh")
    now = now or timezone.now()
    if profile_ids is not None and not profile_ids:
        return Change(entered=0, exited=0)
    query = member_query(
        segment.rules, workspace_id=segment.workspace_id, now=now, profile_ids=profile_ids
    )
    with transaction.atomic():
        if profile_ids is None:
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
            scope, scope_params = "", []
            if profile_ids is not None:
                scope = f" AND profile_id IN ({', '.join(['%s'] * len(profile_ids))})"
                scope_params = list(profile_ids)
            cursor.execute(
                f"UPDATE {MEMBERSHIPS} SET exited_at = %s"  # noqa: S608 - constant tables; the member query is parameterized
                f" WHERE segment_id = %s AND exited_at IS NULL{scope}"
                f" AND profile_id NOT IN ({query.sql})",
                [_db(now), segment.pk, *scope_params, *query.params],
            )
            exited = cursor.rowcount
        if entered or exited or profile_ids is None:
            _record_events(segment, now, entered=entered, exited=exited, profile_ids=profile_ids)
            _record_size(segment, now, full=profile_ids is None, change=entered - exited)
    return Change(entered=entered, exited=exited)


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
        _record_size(segment, now, full=True, change=0)
    return Change(entered=entered, exited=len(leaving))


def _record_events(
    segment: Segment,
    now: datetime.datetime,
    *,
    entered: int,
    exited: int,
    profile_ids: list[int] | None = None,
) -> None:
    """One event per membership that started or ended at ``now``, through the
    events app's ``record_events``, which announces them after the commit (so
    segments referring to this one re-check).

    With ``profile_ids`` (a re-check) the memberships are found through the
    (profile, segment) index instead of scanning the whole segment. They are
    read and written ``CHUNK`` at a time, so a refresh entering a million
    customers never holds them all.
    """
    properties = {"segment_id": segment.pk, "segment_name": segment.name}
    for name, column, count in ((ENTERED, "entered_at", entered), (EXITED, "exited_at", exited)):
        if not count:
            continue
        changed = SegmentMembership.objects.filter(segment=segment, **{column: now})
        if profile_ids is not None:
            changed = changed.filter(profile_id__in=profile_ids)
        rows = []
        for membership_id, profile_id in changed.values_list("id", "profile_id").iterator(
            chunk_size=CHUNK
        ):
            rows.append(
                EventToRecord(
                    workspace_id=segment.workspace_id,
                    profile_id=profile_id,
                    name=name,
                    message_id=f"{name}:{membership_id}",
                    timestamp=now,
                    properties=properties,
                )
            )
            if len(rows) == CHUNK:
                record_events(rows)
                rows = []
        if rows:
            record_events(rows)


def _db(value: datetime.datetime):
    """A datetime as the ORM stores it, so raw SQL compares equal to ORM-written
    rows (SQLite keeps datetimes as text in one format)."""
    return connection.ops.adapt_datetimefield_value(value)


def _record_size(segment: Segment, now: datetime.datetime, *, full: bool, change: int) -> None:
    """Store the segment's member count and today's size (the last write of the day wins).

    A re-check or a merge moves the count by ``change`` and reads it back in
    one statement, and today's size is upserted in one more: two statements
    for each segment a batch changed, on the segment's own row, so workers
    re-checking the same segment only queue on it for those two.
    """
    if full:
        size = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).count()
        Segment.objects.filter(pk=segment.pk).update(member_count=size, refreshed_at=now)
    else:
        table = connection.ops.quote_name(Segment._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET member_count = member_count + %s"  # noqa: S608 - the model's table; values are params
                " WHERE id = %s RETURNING member_count",
                [change, segment.pk],
            )
            size = cursor.fetchone()[0]
    segment.member_count = size
    SegmentSize.objects.bulk_create(
        [SegmentSize(segment=segment, date=now.date(), size=size)],
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
            for segment in Segment.objects.filter(pk__in=ended):
                _record_size(segment, now, full=False, change=-ended[segment.pk])
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
