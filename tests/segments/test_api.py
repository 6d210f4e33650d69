"""The segment API: CRUD with path-named validation errors, paginated members,
is-member, static upload, preview, and tenant isolation."""

import base64
import datetime as dt
import json

import pytest
from rest_framework.test import APIClient

from engage.profiles.models import Identity
from engage.segments.models import Segment, SegmentMembership
from tests.customer_factories import EventFactory, IdentityFactory, ProfileFactory

pytestmark = pytest.mark.django_db

PRO = {"trait": {"key": "plan", "op": "equals", "value": "pro"}}


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def api(workspace, django_capture_on_commit_callbacks):
    client = client_for(workspace.secret_key)

    # every request runs its on-commit work (the refresh) before returning
    def run(method, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return getattr(client, method)(*args, format="json", **kwargs)

    return run


def test_create_read_update_delete(api, workspace):
    ws = workspace.workspace
    pros = [ProfileFactory(workspace=ws, traits={"plan": "pro"}) for _ in range(2)]
    ProfileFactory(workspace=ws, traits={"plan": "free"})

    created = api("post", "/api/segments", {"name": "Pro", "rules": PRO})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["summary"] == 'plan is "pro"'
    segment_id = body["id"]
    # filled by the refresh queued on commit
    assert api("get", f"/api/segments/{segment_id}").json()["member_count"] == 2

    listed = api("get", "/api/segments").json()["results"]
    assert [s["name"] for s in listed] == ["Pro"]

    IdentityFactory(profile=pros[0], kind=Identity.EMAIL, value="a@example.com")
    changed = api(
        "patch",
        f"/api/segments/{segment_id}",
        {"rules": {"and": [PRO, {"identity": {"kind": "email"}}]}},
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["summary"] == 'plan is "pro" and has an email'
    after = api("get", f"/api/segments/{segment_id}").json()
    assert (after["name"], after["member_count"]) == ("Pro", 1)

    assert api("delete", f"/api/segments/{segment_id}").status_code == 204
    assert api("get", f"/api/segments/{segment_id}").status_code == 404


def test_bad_rules_are_a_400_naming_the_path(api):
    response = api(
        "post",
        "/api/segments",
        {
            "name": "Bad",
            "rules": {"and": [PRO, {"event": {"name": "Order Completed", "within_days": "7d"}}]},
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "rules.and[1].event.within_days": ["must be a positive integer (at most 36600)"]
    }
    assert not Segment.objects.exists()
    missing = api("post", "/api/segments", {"rules": PRO})
    assert missing.status_code == 400
    assert set(missing.json()["errors"]) == {"name"}


def test_members_are_keyset_paginated_and_is_member_answers(api, workspace):
    ws = workspace.workspace
    pros = sorted(
        (ProfileFactory(workspace=ws, traits={"plan": "pro"}) for _ in range(5)),
        key=lambda p: p.pk,
    )
    outsider = ProfileFactory(workspace=ws)
    segment_id = api("post", "/api/segments", {"name": "Pro", "rules": PRO}).json()["id"]

    seen, pages, url = [], [], f"/api/segments/{segment_id}/members?limit=2"
    while url:
        page = api("get", url).json()
        pages.append(page)
        seen += [m["profile_id"] for m in page["results"]]
        url = page["next"]
    assert seen == [p.pk for p in pros]
    assert [len(page["results"]) for page in pages] == [2, 2, 1]
    back = api("get", pages[2]["previous"]).json()
    assert back["results"] == pages[1]["results"]
    bad = api("get", f"/api/segments/{segment_id}/members?limit=0")
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"limit": ["must be a whole number from 1 to 1000"]}

    yes = api("get", f"/api/segments/{segment_id}/members/{pros[0].pk}").json()
    assert yes["member"] is True and yes["entered_at"]
    no = api("get", f"/api/segments/{segment_id}/members/{outsider.pk}").json()
    assert no == {
        "segment_id": segment_id,
        "profile_id": outsider.pk,
        "member": False,
        "entered_at": None,
    }


def test_static_upload_and_preview(api, workspace):
    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    IdentityFactory(profile=ann, kind=Identity.EMAIL, value="ann@example.com")
    EventFactory(profile=ann, timestamp=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    static = api("post", "/api/segments", {"name": "List", "kind": "static"}).json()
    uploaded = api(
        "post",
        f"/api/segments/{static['id']}/members",
        {
            "identifiers": [
                {"kind": "email", "value": "ANN@example.com"},
                {"kind": "email", "value": "x@example.com"},
            ]
        },
    )
    assert uploaded.json() == {
        "matched": 1,
        "entered": 1,
        "exited": 0,
        "unknown": ["email:x@example.com"],
    }
    preview = api(
        "post",
        "/api/segments/preview",
        {"rules": {"and": [PRO, {"event": {"name": "Order Completed", "within_days": 7}}]}},
    ).json()
    assert preview == {
        "count": 1,
        "sample": [ann.pk],
        "summary": 'plan is "pro" and did Order Completed in the last 7 days',
    }
    bad = api("post", "/api/segments/preview", {"rules": {"trait": {"key": "plan"}}})
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"rules.trait.op": ["is required"]}


def test_one_workspace_never_sees_another(api, workspace, other_workspace):
    theirs = Segment.objects.create(workspace=other_workspace.workspace, name="Theirs", rules=PRO)
    their_profile = ProfileFactory(workspace=other_workspace.workspace, traits={"plan": "pro"})
    SegmentMembership.objects.create(
        segment=theirs, profile=their_profile, entered_at=dt.datetime.now(dt.UTC)
    )
    for method, url in [
        ("get", f"/api/segments/{theirs.pk}"),
        ("patch", f"/api/segments/{theirs.pk}"),
        ("delete", f"/api/segments/{theirs.pk}"),
        ("get", f"/api/segments/{theirs.pk}/members"),
        ("get", f"/api/segments/{theirs.pk}/members/{their_profile.pk}"),
    ]:
        assert api(method, url).status_code == 404, url
    assert api("get", "/api/segments").json()["results"] == []
    # their segment cannot be referenced, and their profile is not ours to ask about
    ref = api("post", "/api/segments", {"name": "Ref", "rules": {"segment": {"id": theirs.pk}}})
    assert ref.json()["errors"] == {
        "rules.segment.id": [f"no segment {theirs.pk} in this workspace"]
    }
    ours = api("post", "/api/segments", {"name": "Ours", "rules": PRO}).json()
    assert api("get", f"/api/segments/{ours['id']}/members/{their_profile.pk}").status_code == 404
    assert Segment.objects.filter(workspace=other_workspace.workspace).count() == 1


def test_write_key_and_no_key_are_refused(workspace):
    assert client_for(workspace.write_key).get("/api/segments").status_code == 403
    assert APIClient().get("/api/segments").status_code == 401


@pytest.mark.parametrize("body", ['"x"', "[1, 2]", "1", "null", "true"])
def test_a_change_that_is_not_an_object_is_a_400(api, workspace, body):
    segment_id = api("post", "/api/segments", {"name": "Pro", "rules": PRO}).json()["id"]
    client = client_for(workspace.secret_key)

    response = client.patch(f"/api/segments/{segment_id}", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"] in {
        "No data provided",
        f"Invalid data. Expected a dictionary, but got {type(json.loads(body)).__name__}.",
    }
    assert Segment.objects.get(pk=segment_id).name == "Pro"


def test_a_change_keeps_what_it_does_not_name(api):
    segment_id = api("post", "/api/segments", {"name": "Pro", "rules": PRO}).json()["id"]

    changed = api("patch", f"/api/segments/{segment_id}", {"description": "Paying"})

    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["rules"]) == ("Pro", PRO)
    assert changed.json()["description"] == "Paying"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": 12, "rules": PRO}, "name"),
        ({"name": "", "rules": PRO}, "name"),
        ({"name": "Pro", "rules": PRO, "kind": 1}, "kind"),
        ({"name": "Pro", "rules": "plan is pro"}, "rules"),
        ({"name": "Pro", "rules": {}}, "rules"),
    ],
)
def test_fields_of_the_wrong_type_are_refused_not_coerced(api, body, field):
    response = api("post", "/api/segments", body)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}
    assert not Segment.objects.exists()


def test_what_the_segment_state_forbids_is_a_409(api):
    dynamic = api("post", "/api/segments", {"name": "Pro", "rules": PRO}).json()
    api("post", "/api/segments", {"name": "Ref", "rules": {"segment": {"id": dynamic["id"]}}})

    kind = api("patch", f"/api/segments/{dynamic['id']}", {"kind": "static"})
    upload = api(
        "post",
        f"/api/segments/{dynamic['id']}/members",
        {"identifiers": [{"kind": "email", "value": "ann@example.com"}]},
    )
    delete = api("delete", f"/api/segments/{dynamic['id']}")

    assert [kind.status_code, upload.status_code, delete.status_code] == [409, 409, 409]
    assert kind.json()["errors"] == {"kind": ["cannot be changed; create a new segment"]}
    assert upload.json()["errors"] == {"kind": ["members can be uploaded to static segments only"]}
    assert delete.json()["errors"] == {"id": ["used by segment(s) Ref"]}
    assert Segment.objects.get(pk=dynamic["id"]).kind == Segment.DYNAMIC


def test_members_paging_parameters_must_be_in_range_and_cursors_ours(api):
    segment_id = api("post", "/api/segments", {"name": "Pro", "rules": PRO}).json()["id"]

    for query in [
        "limit=",
        "limit=1001",
        "limit=1.5",
        "cursor=x",
        "cursor=W1s5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XSwwXQ",
        "cursor=a%00b",
    ]:
        response = api("get", f"/api/segments/{segment_id}/members?{query}")
        assert response.status_code == 400, query
        assert set(response.json()["errors"]) == {query.split("=")[0]}, query


def test_an_upload_ignores_fields_it_does_not_know_as_every_body_does(api, workspace):
    IdentityFactory(
        profile__workspace=workspace.workspace, kind=Identity.EMAIL, value="ann@example.com"
    )
    static = api("post", "/api/segments", {"name": "List", "kind": "static"}).json()

    uploaded = api(
        "post",
        f"/api/segments/{static['id']}/members",
        {
            "identifiers": [{"kind": "email", "value": "ann@example.com", "note": "fair"}],
            "x": 1,
        },
    )

    assert uploaded.status_code == 200, uploaded.json()
    assert uploaded.json()["matched"] == 1


def test_segments_are_listed_by_name_a_page_at_a_time(api):
    for name in ["b", "a", "c"]:
        assert api("post", "/api/segments", {"name": name, "rules": PRO}).status_code == 201

    first = api("get", "/api/segments?limit=2").json()
    second = api("get", first["next"]).json()
    assert [s["name"] for s in first["results"] + second["results"]] == ["a", "b", "c"]
    assert second["next"] is None and first["previous"] is None


def test_a_cursor_holding_text_postgresql_cannot_store_is_a_400(api):
    """A cursor is ours to decode: one forged with NUL or a lone surrogate in its
    position is refused, not sent to PostgreSQL (a 500), and one nested past what
    Python's JSON reads is refused, not a RecursionError (a 500)."""
    deep = "[" * 3000 + "]" * 3000
    for position in ['"a\\u0000b"', '"\\ud800"', "12345678901234567890", deep]:
        raw = f"[[{position}],0]".encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        response = api("get", f"/api/segments?cursor={cursor}")
        assert response.status_code == 400, position[:20]
        assert response.json()["errors"] == {"cursor": ["not a cursor returned by this endpoint"]}


@pytest.mark.django_db(transaction=True)
def test_a_new_segment_answers_with_the_members_it_already_has(workspace):
    # Committed as a real request is (no test transaction around it): without
    # a broker the refresh runs at commit, before the answer is written.
    ws = workspace.workspace
    for plan in ("pro", "pro", "free"):
        ProfileFactory(workspace=ws, traits={"plan": plan})
    client = client_for(workspace.secret_key)

    created = client.post("/api/segments", {"name": "Pro", "rules": PRO}, format="json")
    changed = client.patch(
        f"/api/segments/{created.json()['id']}",
        {"rules": {"trait": {"key": "plan", "op": "equals", "value": "free"}}},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["member_count"] == 2
    assert created.json()["refreshed_at"] is not None
    assert changed.json()["member_count"] == 1
