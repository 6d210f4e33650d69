"""Admin lists of big tables never count every row, and read through indexes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engage.admin_display import CappedCountPaginator
from tests.customer_factories import EventFactory, ProfileFactory


def test_event_list_counts_at_most_the_cap_and_shows_newest_received_first(
    operator, workspace, monkeypatch
):
    monkeypatch.setattr(CappedCountPaginator, "CAP", 5)
    monkeypatch.setattr("engage.events.admin.EventAdmin.list_per_page", 3)
    profile = ProfileFactory(workspace=workspace.workspace)
    events = [EventFactory(profile=profile) for _ in range(8)]

    with CaptureQueriesContext(connection) as queries:
        page = operator.get(reverse("admin:events_event_changelist")).content.decode()

    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 6" in sql for sql in counts), counts
    shown = [e.message_id for e in events if f">{e.message_id}<" in page]
    assert shown == [e.message_id for e in events[-3:]]
    # 6 rows counted, 3 per page: two pages of links, whatever the table holds.
    assert 'href="?p=2"' in page
    assert "?p=3" not in page


def test_duplicate_workspace_name_is_refused_without_keys(admin_client, workspace):
    response = admin_client.post(
        reverse("admin:workspaces_workspace_add"),
        {
            "name": "acme",
            "identity_limits": "{}",
            "blocked_identifiers": "[]",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "Workspace with this Name already exists." in response.content.decode()
    assert workspace.workspace.api_keys.count() == 2


def test_only_superusers_filter_by_workspace(admin_client, operator, workspace, other_workspace):
    url = reverse("admin:profiles_profile_changelist")

    assert "globex" in admin_client.get(url).content.decode()
    assert "globex" not in operator.get(url).content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans of PostgreSQL")
def test_profile_list_walks_the_last_seen_index(operator, workspace, other_workspace):
    with connection.cursor() as cursor:
        for ws in (workspace, other_workspace):
            cursor.execute(
                """
                INSERT INTO profiles_profile (workspace_id, traits, trait_updated_at, timezone,
                    locale, first_seen_at, last_seen_at, created_at)
                SELECT %s, '{}', '{}', '', '', now(), now() - n * interval '1 minute', now()
                FROM generate_series(1, 30000) AS n
                """,
                [ws.workspace.pk],
            )
        cursor.execute("ANALYZE profiles_profile")

    with CaptureQueriesContext(connection) as queries:
        response = operator.get(reverse("admin:profiles_profile_changelist"))

    assert response.status_code == 200
    (page_sql,) = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "profiles_profile"' in q["sql"] and q["sql"].endswith("LIMIT 100")
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {page_sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "profile_ws_last_seen" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize(
    "url", ["profiles/profilemerge", "events/event", "privacy/privacyrequest", "workspaces/apikey"]
)
@pytest.mark.parametrize("term", ["abc", "12", "msg-1 extra"])
def test_list_search_accepts_any_term(operator, url, term):
    assert operator.get(f"/admin/{url}/", {"q": term}).status_code == 200
