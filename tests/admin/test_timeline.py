"""The admin timeline stays fast on a profile with 100k events: a keyset page
(newest first, (timestamp, id) cursor), a fixed number of queries, no COUNT."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.customer_factories import T0, EventFactory, ProfileFactory

BULK_EVENTS = 100_000
PAGE_SIZE = 50
ROW = re.compile(r'data-event-id="(\d+)"')
OLDER = re.compile(r'href="\?before=([^"]+)" class="older"')


def timeline_url(profile) -> str:
    return reverse("admin:profiles_profile_timeline", args=[profile.pk])


def insert_events(profile, count: int, prefix: str) -> None:
    """``count`` events one second apart from T0, in one INSERT ... SELECT."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_event (workspace_id, message_id, type, name, user_id,
                anonymous_id, group_id, previous_id, timestamp, received_at, warnings,
                properties, traits, context, channel, profile_id, origin_profile_id,
                processed_at)
            SELECT %s, %s || n, 'track', 'Viewed', '', '', '', '',
                   %s::timestamptz + n * interval '1 second', now(), '[]',
                   jsonb_build_object('n', n), '{}', '{}', 'web', %s, %s, now()
            FROM generate_series(1, %s) AS n
            """,
            [profile.workspace_id, prefix, T0, profile.pk, profile.pk, count],
        )
        cursor.execute("ANALYZE events_event")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="generate_series on PostgreSQL")
def test_timeline_of_100k_events_pages_by_cursor_with_bounded_queries(operator, workspace):
    ada = ProfileFactory(workspace=workspace.workspace)
    insert_events(ada, BULK_EVENTS, "bulk-")
    insert_events(ProfileFactory(workspace=workspace.workspace), 5_000, "other-")
    operator.get(timeline_url(ada))  # warm the session and permission caches

    with CaptureQueriesContext(connection) as first_queries:
        first = operator.get(timeline_url(ada))
    page = first.content.decode()
    first_ids = [int(i) for i in ROW.findall(page)]
    (cursor,) = OLDER.findall(page)
    with CaptureQueriesContext(connection) as second_queries:
        second = operator.get(timeline_url(ada), {"before": cursor})
    second_ids = [int(i) for i in ROW.findall(second.content.decode())]

    assert first.status_code == second.status_code == 200
    for queries in (first_queries, second_queries):
        sql = [q["sql"].upper() for q in queries.captured_queries]
        # session, user, permissions (2), workspace ids, profile, one page of events
        assert len(sql) <= 7, sql
        assert not [s for s in sql if "COUNT(" in s or "OFFSET" in s], sql
    # Newest first, and the second page continues exactly where the first stopped.
    expected = list(
        ada.events.order_by("-timestamp", "-id").values_list("pk", flat=True)[: 2 * PAGE_SIZE]
    )
    assert first_ids + second_ids == expected
    assert "bulk-100000" in page and "bulk-99951" in page and "bulk-99950" not in page


def test_timeline_pages_through_ties_and_ends(operator, workspace):
    ada = ProfileFactory(workspace=workspace.workspace)
    same_time = T0 + dt.timedelta(days=1)
    events = [EventFactory(profile=ada, timestamp=same_time) for _ in range(PAGE_SIZE + 3)]

    first = operator.get(timeline_url(ada)).content.decode()
    (cursor,) = OLDER.findall(first)
    last = operator.get(timeline_url(ada), {"before": cursor}).content.decode()

    seen = [int(i) for i in ROW.findall(first) + ROW.findall(last)]
    assert seen == sorted((e.pk for e in events), reverse=True)
    assert not OLDER.findall(last)


def test_timeline_rejects_a_forged_cursor_and_shows_the_newest(operator, workspace):
    ada = ProfileFactory(workspace=workspace.workspace)
    newest = EventFactory(profile=ada, timestamp=T0 + dt.timedelta(days=2))

    response = operator.get(timeline_url(ada), {"before": "not-a-cursor"})

    assert response.status_code == 200
    assert "before: not a position from this page" in response.content.decode().lower()
    assert ROW.findall(response.content.decode()) == [str(newest.pk)]
