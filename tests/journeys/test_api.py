"""/api/journeys: write a journey over HTTP, publish it, run it, and read what it did."""

import datetime as dt

import pytest
from django.utils import timezone

from engage.journeys import engine
from engage.journeys.models import Enrollment, Journey, NodeCount
from engage.messaging.models import MessageTemplate
from engage.plugins.models import PluginConfig
from tests.customer_factories import MergeFactory, ProfileFactory

from .factories import live_journey

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
FLOW = {
    "trigger": {"manual": True},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"hours": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}


@pytest.fixture
def api(client, workspace):
    def call(method, path, body=None, key=None):
        return getattr(client, method)(
            path,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key or workspace.secret_key}",
        )

    return call


def test_create_draft_publish_and_read_a_journey(api):
    created = api("post", "/api/journeys", {"name": "Welcome", "definition": FLOW})
    assert created.status_code == 201, created.json()
    journey = created.json()
    assert (journey["status"], journey["live_version"]) == ("draft", None)
    base = f"/api/journeys/{journey['id']}"

    published = api("post", f"{base}/versions/1/publish")
    assert published.status_code == 200, published.json()
    assert (published.json()["status"], published.json()["live_version"]) == ("live", 1)

    draft = api("post", f"{base}/versions", {"definition": FLOW})
    assert draft.status_code == 201 and draft.json()["number"] == 2
    versions = api("get", f"{base}/versions").json()["results"]
    assert [(v["number"], v["published"]) for v in versions] == [(2, False), (1, True)]
    assert api("get", f"{base}/versions/1").json()["definition"] == FLOW
    assert api("get", "/api/journeys").json()["results"][0]["name"] == "Welcome"

    renamed = api("patch", base, {"name": "Welcome series"})
    assert renamed.json()["name"] == "Welcome series"


def test_a_bad_definition_is_a_400_naming_each_path_and_saves_nothing(api):
    broken = {**FLOW, "start": "nowhere", "nodes": {**FLOW["nodes"]}}
    broken["nodes"]["pause"] = {"type": "wait", "duration": {"hours": 0}, "next": "gone"}

    response = api("post", "/api/journeys", {"name": "W", "definition": broken})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "definition.nodes.pause.duration": ["must be longer than zero"],
        "definition.start": ["no node 'nowhere' in nodes"],
    }
    assert response.json()["detail"].startswith("definition.nodes.pause.duration: ")
    assert not Journey.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"definition": FLOW}, "name", "This field is required."),
        ({"name": 12}, "name", "must be a string"),
        ({"name": "W", "definition": ["pause"]}, "definition", "must be an object."),
    ],
    ids=["no-name", "name-not-text", "definition-not-object"],
)
def test_a_malformed_body_names_the_field(api, body, field, reason):
    response = api("post", "/api/journeys", body)
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [reason]}


def test_a_published_version_cannot_change(api, workspace):
    journey = live_journey(workspace.workspace, FLOW)
    response = api("put", f"/api/journeys/{journey.pk}/versions/1", {"definition": FLOW})
    assert response.status_code == 409
    assert response.json()["errors"] == {"version": ["version 1 is published and cannot change"]}
    again = api("post", f"/api/journeys/{journey.pk}/versions/1/publish")
    assert again.status_code == 409
    assert api("delete", f"/api/journeys/{journey.pk}/versions/1").status_code == 409
    assert api("get", f"/api/journeys/{journey.pk}/versions/1").status_code == 200


def test_a_draft_is_replaced_whole_or_not_at_all(api, workspace):
    journey = live_journey(workspace.workspace, FLOW)
    api("post", f"/api/journeys/{journey.pk}/versions", {"definition": FLOW})
    longer = {**FLOW, "nodes": {**FLOW["nodes"], "pause": {**FLOW["nodes"]["pause"]}}}
    longer["nodes"]["pause"]["duration"] = {"days": 2}
    replaced = api("put", f"/api/journeys/{journey.pk}/versions/2", {"definition": longer})
    assert replaced.status_code == 200, replaced.json()

    bad = {**longer, "nodes": {**longer["nodes"], "done": {"type": "teleport"}}}
    response = api("put", f"/api/journeys/{journey.pk}/versions/2", {"definition": bad})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["definition.nodes.done.type"]
    assert api("get", f"/api/journeys/{journey.pk}/versions/2").json()["definition"] == longer
    assert api("delete", f"/api/journeys/{journey.pk}/versions/2").status_code == 204
    assert api("get", f"/api/journeys/{journey.pk}/versions/2").status_code == 404


def test_pause_resume_stop_and_their_conflicts(api, workspace):
    journey = live_journey(workspace.workspace, FLOW)
    base = f"/api/journeys/{journey.pk}"
    assert api("post", f"{base}/pause").json()["status"] == "paused"
    refused = api("post", f"{base}/pause")
    assert refused.status_code == 409
    assert refused.json()["errors"] == {"status": ["the journey is paused, not live"]}
    assert api("post", f"{base}/resume").json()["status"] == "live"
    assert api("delete", base).status_code == 409
    assert api("post", f"{base}/stop").json()["status"] == "stopped"
    assert api("delete", base).status_code == 204
    assert api("get", base).status_code == 404


def test_another_workspace_sees_no_journey(api, workspace, other_workspace):
    journey = live_journey(workspace.workspace, FLOW)
    theirs = other_workspace.secret_key
    for method, path in [
        ("get", f"/api/journeys/{journey.pk}"),
        ("get", f"/api/journeys/{journey.pk}/versions/1"),
        ("get", f"/api/journeys/{journey.pk}/counts"),
        ("get", f"/api/journeys/{journey.pk}/enrollments"),
        ("post", f"/api/journeys/{journey.pk}/stop"),
    ]:
        assert api(method, path, key=theirs).status_code == 404, path
    assert api("get", "/api/journeys", key=theirs).json()["results"] == []
    journey.refresh_from_db()
    assert journey.status == Journey.LIVE


def _enroll(journey, profile, *, node_id="pause", ended=None, at=T0) -> Enrollment:
    return Enrollment.objects.create(
        workspace=journey.workspace,
        journey=journey,
        version=journey.live_version,
        profile=profile,
        node_id=node_id,
        waiting=ended is None,
        entered_at=at,
        ended_at=at if ended else None,
        end_reason=ended or "",
    )


def test_counts_per_node_arrived_waiting_and_left_by_edge(api, workspace):
    journey = live_journey(workspace.workspace, FLOW)
    version = journey.live_version
    NodeCount.objects.bulk_create(
        [
            NodeCount(version=version, node_id="pause", edge="", count=3),
            NodeCount(version=version, node_id="pause", edge="next", count=1),
            NodeCount(version=version, node_id="done", edge="", count=1),
        ]
    )
    ada, bob, cy = ProfileFactory.create_batch(3, workspace=workspace.workspace)
    _enroll(journey, ada)
    _enroll(journey, bob)
    _enroll(journey, cy, node_id="done", ended=Enrollment.COMPLETED)

    response = api("get", f"/api/journeys/{journey.pk}/counts")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "version": 1,
        "nodes": [
            {"node_id": "pause", "type": "wait", "entered": 3, "waiting": 2, "left": {"next": 1}},
            {"node_id": "done", "type": "exit", "entered": 1, "waiting": 0, "left": {}},
        ],
    }
    missing = api("get", f"/api/journeys/{journey.pk}/counts?version=7")
    assert missing.status_code == 404
    bad = api("get", f"/api/journeys/{journey.pk}/counts?version=first")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["version"]


def test_enrollments_are_keyset_paged_and_filtered(api, workspace):
    journey = live_journey(workspace.workspace, FLOW)
    profiles = ProfileFactory.create_batch(5, workspace=workspace.workspace)
    for i, profile in enumerate(profiles):
        ended = Enrollment.CONVERTED if i % 2 else None
        _enroll(journey, profile, ended=ended, at=T0 + dt.timedelta(minutes=i))
    base = f"/api/journeys/{journey.pk}/enrollments"

    first = api("get", f"{base}?limit=2").json()
    second = api("get", first["next"]).json()
    third = api("get", second["next"]).json()
    seen = [row["profile_id"] for page in (first, second, third) for row in page["results"]]
    assert seen == [p.pk for p in reversed(profiles)] and third["next"] is None

    converted = api("get", f"{base}?status=converted").json()["results"]
    assert {row["profile_id"] for row in converted} == {profiles[1].pk, profiles[3].pk}
    assert {row["status"] for row in converted} == {"converted"}
    active = api("get", f"{base}?status=active&node=pause").json()["results"]
    assert [row["status"] for row in active] == ["active"] * 3
    assert api("get", f"{base}?node=done").json()["results"] == []
    bad = api("get", f"{base}?status=happy")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["status"]
    long = api("get", f"{base}?node={'n' * 65}")
    assert long.status_code == 400 and list(long.json()["errors"]) == ["node"]


def test_a_profile_lists_its_journeys_even_by_a_merged_id(api, workspace):
    ws = workspace.workspace
    welcome = live_journey(ws, FLOW, name="Welcome")
    winback = live_journey(ws, FLOW, name="Win-back")
    merge = MergeFactory(survivor__workspace=ws)
    _enroll(welcome, merge.survivor, ended=Enrollment.COMPLETED)
    _enroll(winback, merge.survivor, at=T0 + dt.timedelta(days=1))
    _enroll(welcome, ProfileFactory(workspace=ws))

    response = api("get", f"/api/profiles/{merge.merged_id}/journeys")

    assert response.status_code == 200, response.json()
    rows = [
        (r["journey_name"], r["version"], r["node_id"], r["status"])
        for r in response.json()["results"]
    ]
    assert rows == [("Win-back", 1, "pause", "active"), ("Welcome", 1, "pause", "completed")]
    assert api("get", "/api/profiles/999999/journeys").status_code == 404


def test_a_customer_is_enrolled_by_hand_and_a_refusal_is_a_409_naming_why(api, workspace):
    journey = live_journey(workspace.workspace, FLOW)
    ada = ProfileFactory(workspace=workspace.workspace)
    base = f"/api/journeys/{journey.pk}/enrollments"

    entered = api("post", base, {"profile_id": ada.pk})

    assert entered.status_code == 201, entered.json()
    body = entered.json()
    assert (body["profile_id"], body["node_id"], body["status"], body["version"]) == (
        ada.pk,
        "pause",
        "active",
        1,
    )
    again = api("post", base, {"profile_id": ada.pk})
    assert again.status_code == 409
    assert again.json()["errors"] == {
        "profile_id": ["already_active: the customer is in this journey now"]
    }
    api("post", f"/api/journeys/{journey.pk}/pause")
    bob = ProfileFactory(workspace=workspace.workspace)
    paused = api("post", base, {"profile_id": bob.pk})
    assert paused.json()["errors"] == {"profile_id": ["not_live: the journey is not live"]}
    assert api("post", base, {"profile_id": 999999}).status_code == 404
    assert api("post", base, {"profile_id": "1"}).json()["errors"] == {
        "profile_id": ["must be an integer"]
    }
    assert Enrollment.objects.filter(journey=journey).count() == 1


def test_the_ledger_shows_each_step_with_its_journey_and_node(api, workspace):
    journey = live_journey(workspace.workspace, FLOW)
    ada = ProfileFactory(workspace=workspace.workspace)
    api("post", f"/api/journeys/{journey.pk}/enrollments", {"profile_id": ada.pk})
    engine.advance(now=timezone.now() + dt.timedelta(hours=2))

    rows = api("get", f"/api/profiles/{ada.pk}/decisions").json()["results"]

    fields = ("action", "reason", "source", "journey_id", "journey_version", "journey_node_id")
    steps = [tuple(r[f] for f in fields) for r in reversed(rows)]
    assert steps == [
        ("enter", "manual", "journey", journey.pk, 1, "pause"),
        ("wait", "duration", "journey", journey.pk, 1, "pause"),
        ("wake", "timeout", "journey", journey.pk, 1, "pause"),
        ("exit", "completed", "journey", journey.pk, 1, "done"),
    ]
    [enrollment] = api("get", f"/api/profiles/{ada.pk}/journeys").json()["results"]
    assert {r["enrollment_id"] for r in rows} == {enrollment["id"]}


def test_publishing_a_draft_whose_template_was_deleted_is_a_409_and_changes_nothing(api, workspace):
    ws = workspace.workspace
    PluginConfig.objects.create(workspace=ws, plugin_id="email", enabled=True, settings={})
    hello = MessageTemplate.objects.create(workspace=ws, name="hello", channel="email", body="Hi")
    journey = live_journey(ws, FLOW)
    sending = {**FLOW, "nodes": {**FLOW["nodes"]}}
    sending["nodes"]["pause"] = {
        "type": "send",
        "channel": "email",
        "template": "hello",
        "category": "marketing",
        "next": "done",
    }
    base = f"/api/journeys/{journey.pk}"
    assert api("post", f"{base}/versions", {"definition": sending}).status_code == 201
    assert api("delete", f"/api/templates/{hello.pk}").status_code == 204  # only a draft used it

    response = api("post", f"{base}/versions/2/publish")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "definition.nodes.pause.template: no template named 'hello' in this workspace",
        "errors": {
            "definition.nodes.pause.template": ["no template named 'hello' in this workspace"]
        },
    }
    assert api("get", base).json()["live_version"] == 1
