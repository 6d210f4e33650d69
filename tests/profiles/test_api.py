"""The single customer view over HTTP: lookup, profile, timeline, tenant isolation."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from engage.events.models import Event
from engage.events.selectors import TimelineCursor, timeline
from engage.profiles.models import Identity
from engage.workspaces.models import ApiKey
from engage.workspaces.selectors import active_key
from engage.workspaces.services import revoke_api_key
from tests.customer_factories import T0, EventFactory, IdentityFactory, MergeFactory, ProfileFactory


def client_for(key: str | None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def api(workspace) -> APIClient:
    return client_for(workspace.secret_key)


@pytest.fixture
def ada(workspace):
    """A customer with an email, a user id, an anonymous id and traits."""
    profile = ProfileFactory(
        workspace=workspace.workspace,
        traits={"name": "Ada", "plan": "pro"},
        timezone="Europe/London",
        locale="en-GB",
    )
    IdentityFactory(profile=profile, kind="email", value="ada@example.com")
    IdentityFactory(profile=profile, kind="user_id", value="u-1815")
    IdentityFactory(profile=profile, kind="anonymous_id", value="anon-ada")
    return profile


def test_lookup_by_email_normalizes_like_resolution(api, ada):
    response = api.get("/api/profiles/lookup", {"email": "  Ada@Example.COM "})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == ada.pk
    assert body["identities"] == [
        {"kind": "anonymous_id", "value": "anon-ada"},
        {"kind": "email", "value": "ada@example.com"},
        {"kind": "user_id", "value": "u-1815"},
    ]
    assert body["traits"] == {"name": "Ada", "plan": "pro"}
    assert body["timezone"] == "Europe/London"
    assert body["locale"] == "en-GB"
    assert body["first_seen_at"] == "2025-01-01T00:00:00Z"
    assert body["last_seen_at"] == "2025-01-01T00:00:00Z"
    assert body["created_at"]
    assert body["merges"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"user_id": "u-1815"},
        {"anonymous_id": "anon-ada"},
        {"kind": "user_id", "value": "u-1815"},
        {"kind": "crm", "value": "CRM-7"},
        {"phone": "(415) 555-2671"},
        {"phone": "+1 415 555 2671"},
        {"device_id": "dev-1"},
    ],
)
def test_lookup_by_each_identifier_kind(api, workspace, ada, query):
    workspace.workspace.default_phone_region = "US"
    workspace.workspace.save()
    IdentityFactory(profile=ada, kind="crm", value="CRM-7")
    IdentityFactory(profile=ada, kind="phone", value="+14155552671")
    IdentityFactory(profile=ada, kind="device_id", value="dev-1")

    response = api.get("/api/profiles/lookup", query)

    assert response.status_code == 200, response.content
    assert response.json()["id"] == ada.pk


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"email": "not-an-email"}, "email: not a valid email address"),
        ({"phone": "12"}, "phone: not"),
        ({"kind": "email", "value": "nope"}, "value: not a valid email address"),
        ({"kind": "Bad Kind", "value": "x"}, "kind: 'Bad Kind' is not a valid identifier kind"),
        ({"kind": "crm"}, "value: required"),
        ({"email": ""}, "email: must not be empty"),
        ({}, "query: give exactly one identifier"),
        ({"email": "ada@example.com", "user_id": "u-1815"}, "query: give exactly one"),
        ({"email": "ada@example.com", "kind": "crm", "value": "x"}, "query: give exactly one"),
    ],
)
def test_lookup_rejects_bad_queries_naming_the_parameter(api, ada, query, message):
    response = api.get("/api/profiles/lookup", query)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)


def test_lookup_of_an_unknown_identifier_is_404(api, ada):
    response = api.get("/api/profiles/lookup", {"email": "grace@example.com"})

    assert response.status_code == 404
    assert response.json()["detail"].startswith("email:")


def test_profile_by_id_and_a_merged_id_resolves_to_the_survivor(api, workspace, ada):
    merge = MergeFactory(survivor=ada, reason="alias", detail="alias of anon-old")
    older = MergeFactory(survivor=merge.merged, merged_at=T0 - dt.timedelta(days=1))

    response = api.get(f"/api/profiles/{older.merged_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == ada.pk
    assert sorted(body["merged_profile_ids"]) == sorted([merge.merged_id, older.merged_id])
    assert body["merges"] == [
        {
            "id": merge.pk,
            "merged_profile_id": merge.merged_id,
            "survivor_profile_id": ada.pk,
            "reason": "alias",
            "detail": "alias of anon-old",
            "message_id": merge.message_id,
            "merged_at": "2025-01-01T00:00:00Z",
            "split_at": None,
        },
        {
            "id": older.pk,
            "merged_profile_id": older.merged_id,
            "survivor_profile_id": merge.merged_id,
            "reason": "identify",
            "detail": older.detail,
            "message_id": older.message_id,
            "merged_at": "2024-12-31T00:00:00Z",
            "split_at": None,
        },
    ]
    assert api.get(f"/api/profiles/{ada.pk + 1000}").status_code == 404


# --- keys and tenants ----------------------------------------------------------


@pytest.fixture
def globex_customer(other_workspace):
    profile = ProfileFactory(workspace=other_workspace.workspace, traits={"secret": "globex"})
    IdentityFactory(profile=profile, kind="email", value="ada@example.com")
    EventFactory(profile=profile)
    return profile


def test_a_secret_key_never_reads_another_workspace(api, ada, globex_customer):
    # Same email in both workspaces: each key sees its own customer only.
    assert api.get("/api/profiles/lookup", {"email": "ada@example.com"}).json()["id"] == ada.pk

    other = globex_customer.pk
    for path in (
        f"/api/profiles/{other}",
        f"/api/profiles/{other}/events",
        f"/api/profiles/{other}/export",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert "globex" not in response.content.decode()
    assert api.delete(f"/api/profiles/{other}").status_code == 404
    assert Event.objects.filter(profile=globex_customer).count() == 1
    assert Identity.objects.filter(profile=globex_customer).count() == 1


def test_another_workspaces_merge_cannot_be_split(api, other_workspace):
    merge = MergeFactory(survivor=ProfileFactory(workspace=other_workspace.workspace))

    assert api.post(f"/api/merges/{merge.pk}/split").status_code == 404
    merge.refresh_from_db()
    assert merge.split_at is None


@pytest.mark.parametrize(
    "path",
    [
        "/api/profiles/lookup?email=ada@example.com",
        "/api/profiles/{id}",
        "/api/profiles/{id}/events",
        "/api/profiles/{id}/export",
    ],
)
def test_keys_write_key_is_403_and_missing_unknown_or_revoked_key_is_401(workspace, ada, path):
    path = path.format(id=ada.pk)
    assert client_for(workspace.write_key).get(path).status_code == 403
    assert client_for(None).get(path).status_code == 401
    assert client_for("sk_not-a-real-key").get(path).status_code == 401
    assert client_for(workspace.secret_key).get(path).status_code == 200

    revoke_api_key(key=active_key(workspace.secret_key))
    assert client_for(workspace.secret_key).get(path).status_code == 401


def test_write_key_cannot_erase_or_split(workspace, ada):
    write = client_for(workspace.write_key)
    merge = MergeFactory(survivor=ada)

    assert write.delete(f"/api/profiles/{ada.pk}").status_code == 403
    assert write.post(f"/api/merges/{merge.pk}/split").status_code == 403
    assert ApiKey.objects.filter(workspace=workspace.workspace).count() == 2
    assert Identity.objects.filter(profile=ada).count() == 3


# --- the timeline -----------------------------------------------------------------


def test_timeline_is_newest_first_and_pages_cover_every_event_once(api, ada):
    # Ties on timestamp are where (timestamp, id) cursors matter.
    events = [
        EventFactory(profile=ada, timestamp=T0 + dt.timedelta(hours=n // 3)) for n in range(11)
    ]
    EventFactory(profile=ProfileFactory(workspace=ada.workspace))  # someone else's
    expected = [
        e.message_id for e in sorted(events, key=lambda e: (e.timestamp, e.pk), reverse=True)
    ]

    seen, pages = [], []
    url = f"/api/profiles/{ada.pk}/events?limit=4"
    while url:
        body = api.get(url).json()
        pages.append(body)
        seen += [e["message_id"] for e in body["results"]]
        url = body["next"]

    assert seen == expected
    assert [len(p["results"]) for p in pages] == [4, 4, 3]
    assert pages[0]["previous"] is None
    assert pages[-1]["next"] is None

    # Walking back from the last page gives the newer events again.
    back = api.get(pages[-1]["previous"]).json()
    assert [e["message_id"] for e in back["results"]] == expected[4:8]
    first = api.get(back["previous"]).json()
    assert [e["message_id"] for e in first["results"]] == expected[:4]
    assert first["previous"] is None
    assert first["next"]


def test_timeline_event_fields(api, ada):
    EventFactory(
        profile=ada,
        type="track",
        name="Order Completed",
        properties={"total": 42},
        context={"channel": "web"},
        channel="web",
        message_id="m-1",
        timestamp=T0 + dt.timedelta(minutes=5),
    )

    (event,) = api.get(f"/api/profiles/{ada.pk}/events").json()["results"]

    assert event["type"] == "track"
    assert event["event"] == "Order Completed"
    assert event["timestamp"] == "2025-01-01T00:05:00Z"
    assert event["properties"] == {"total": 42}
    assert event["message_id"] == "m-1"
    assert event["channel"] == "web"
    assert event["context"] == {"channel": "web"}


def test_timeline_of_a_merged_id_shows_the_survivors_events(api, ada):
    merge = MergeFactory(survivor=ada)
    EventFactory(profile=ada, message_id="after-merge")

    body = api.get(f"/api/profiles/{merge.merged_id}/events").json()

    assert [e["message_id"] for e in body["results"]] == ["after-merge"]


def test_timeline_filters_by_type_and_event_name(api, ada):
    EventFactory(profile=ada, type="track", name="Order Completed", message_id="order")
    EventFactory(profile=ada, type="track", name="Signed Up", message_id="signup")
    EventFactory(profile=ada, type="page", name="Home", message_id="page")
    EventFactory(profile=ada, type="identify", name="", message_id="identify")

    def ids(query):
        response = api.get(f"/api/profiles/{ada.pk}/events", query)
        return {e["message_id"] for e in response.json()["results"]}

    assert ids({"type": "track"}) == {"order", "signup"}
    assert ids({"event": "Signed Up"}) == {"signup"}
    assert ids({"type": "page", "event": "Home"}) == {"page"}
    assert ids({}) == {"order", "signup", "page", "identify"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "0"}, "limit: must be a whole number from 1 to 500"),
        ({"limit": "many"}, "limit: must be a whole number"),
        ({"limit": "501"}, "limit: must be a whole number"),
        ({"cursor": "garbage"}, "cursor: not a cursor"),
        ({"type": "purchase"}, "type: must be one of identify, track"),
        # given but empty is not "absent": the schema says an integer and an enum
        ({"limit": ""}, "limit: must be a whole number"),
        ({"type": ""}, "type: must be one of identify, track"),
        # PostgreSQL text cannot hold NUL: once a 500 (DataError) from the query
        ({"event": "Order\x00Completed"}, "event: must not contain NUL characters"),
    ],
)
def test_timeline_rejects_bad_parameters(api, ada, query, message):
    response = api.get(f"/api/profiles/{ada.pk}/events", query)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert set(response.json()["errors"]) == set(query)


def test_timeline_of_100k_events_reads_pages_through_the_index_without_counting(api, ada):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_event (workspace_id, message_id, type, name, user_id,
                anonymous_id, group_id, previous_id, timestamp, received_at, warnings,
                properties, traits, context, channel, profile_id, processed_at)
            SELECT %s, 'bulk-' || n, 'track', 'Viewed', '', '', '', '',
                   %s::timestamptz + n * interval '1 second', now(), '[]', '{}', '{}', '{}',
                   '', %s, now()
            FROM generate_series(1, 100000) AS n
            """,
            [ada.workspace_id, T0, ada.pk],
        )
        # Other customers' events, so the index is the obvious way in.
        other = ProfileFactory(workspace=ada.workspace)
        cursor.execute(
            """
            INSERT INTO events_event (workspace_id, message_id, type, name, user_id,
                anonymous_id, group_id, previous_id, timestamp, received_at, warnings,
                properties, traits, context, channel, profile_id, processed_at)
            SELECT %s, 'other-' || n, 'track', 'Viewed', '', '', '', '',
                   %s::timestamptz + n * interval '1 second', now(), '[]', '{}', '{}', '{}',
                   '', %s, now()
            FROM generate_series(1, 20000) AS n
            """,
            [ada.workspace_id, T0, other.pk],
        )
        cursor.execute("ANALYZE events_event")

    middle = Event.objects.get(message_id="bulk-50000")
    for cursor_ in (None, TimelineCursor(middle.timestamp, middle.pk)):
        with CaptureQueriesContext(connection) as queries:
            page, more = timeline(profile=ada, cursor=cursor_, limit=50)
        assert len(page) == 50 and more
        (sql,) = [q["sql"] for q in queries.captured_queries]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "event_timeline" in plan, plan
        assert "Sort" not in plan, plan
        assert "Seq Scan" not in plan, plan

    assert page[0].message_id == "bulk-49999"

    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/profiles/{ada.pk}/events", {"limit": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 100
    assert response.json()["results"][0]["message_id"] == "bulk-100000"
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.parametrize(
    "path",
    [
        "/api/profiles/null%2Cnull",
        "/api/profiles/-1/events",
        "/api/profiles/1e3/export",
        "/api/merges/abc/split",
        "/api/segments/1.5",
        "/api/nothing-here",
        "/inbox/messages/-1e-05/read",
    ],
)
def test_an_id_that_is_not_a_number_is_a_json_404(api, path):
    response = api.post(path) if path.endswith(("split", "read")) else api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "errors": {}}
