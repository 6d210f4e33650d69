"""The broadcast API: create, schedule, watch progress, pause, resume,
cancel; bad input refused naming the field, another workspace's broadcast a 404."""

import datetime as dt

import pytest
import time_machine

from engage.broadcasts import runs
from engage.journeys.models import Journey
from tests.journeys.factories import live_journey

from .factories import audience, inapp_template

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def api(client, workspace):
    def call(method, path, body=None, key=None):
        with time_machine.travel(T0, tick=False):
            return getattr(client, method)(
                path,
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key or workspace.secret_key}",
            )

    return call


@pytest.fixture
def segment(workspace):
    inapp_template(workspace.workspace)
    return audience(workspace.workspace, 4)[0]


def body(segment, **changes) -> dict:
    return {
        "name": "winter sale",
        "segment_id": segment.pk,
        "action": "message",
        "template": "sale",
        "schedule": "once",
        "send_at": "2026-12-01T09:00:00Z",
        "rate": 2,
        **changes,
    }


def test_create_schedule_and_follow_a_broadcast_to_its_end(api, segment, settings):
    settings.ENGAGE_BROADCAST_SECONDS = 1.0
    created = api("post", "/api/broadcasts", body(segment))
    assert created.status_code == 201, created.content
    broadcast = created.json()
    assert (broadcast["status"], broadcast["channel"], broadcast["category"]) == (
        "draft",
        "inapp",
        "marketing",
    )
    url = f"/api/broadcasts/{broadcast['id']}"

    scheduled = api("post", f"{url}/schedule").json()
    assert (scheduled["status"], scheduled["next_slice_at"]) == (
        "scheduled",
        "2026-12-01T09:00:00Z",
    )
    at = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    runs.run_due(now=at)
    halfway = api("get", url).json()
    assert halfway["status"] == "running"
    assert halfway["progress"] == {"targeted": 2, "entered": 2, "refused": 0}
    assert halfway["messages"] == {"queued": 2}

    assert api("post", f"{url}/pause").json()["status"] == "paused"
    assert api("post", f"{url}/pause").status_code == 409
    assert api("post", f"{url}/resume").json()["status"] == "running"
    runs.run_due(now=at + dt.timedelta(seconds=5))
    done = api("get", url).json()
    assert (done["status"], done["progress"]["targeted"]) == ("completed", 4)
    listed = api("get", "/api/broadcasts").json()
    assert [b["id"] for b in listed["results"]] == [broadcast["id"]]
    assert listed["next"] is None


def test_cancel_midway_cancels_queued_messages(api, segment, settings):
    settings.ENGAGE_BROADCAST_SECONDS = 1.0
    url = f"/api/broadcasts/{api('post', '/api/broadcasts', body(segment)).json()['id']}"
    api("post", f"{url}/schedule")
    runs.run_due(now=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))

    cancelled = api("post", f"{url}/cancel")

    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["messages"]) == (
        "cancelled",
        {"cancelled": 2},
    )
    assert api("post", f"{url}/cancel").json()["status"] == "cancelled", "answered again"
    assert api("post", f"{url}/resume").status_code == 409
    assert api("delete", url).status_code == 204


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"segment_id": 999999}, "segment_id", "no segment 999999 in this workspace"),
        ({"send_at": "2026-11-30T23:00:00Z"}, "send_at", "must be in the future"),
        ({"schedule": "daily", "local_time": "9:00"}, "local_time", "at least 5 characters"),
        ({"schedule": "daily", "local_time": "9h:00"}, "local_time", "must be HH:MM"),
        ({"schedule": "daily", "local_time": "24:00"}, "local_time", "must be HH:MM"),
        ({"schedule": "daily"}, "local_time", "required for a daily broadcast"),
        ({"rate": 0}, "rate", "greater than or equal to 1"),
        ({"rate": -3}, "rate", "greater than or equal to 1"),
        ({"template": "nope"}, "template", "no template named 'nope'"),
        ({"action": "journey"}, "journey_id", "required to enter a journey"),
        ({"action": "shout"}, "action", "not a valid choice"),
    ],
    ids=[
        "unknown-segment",
        "past-one-off",
        "short-time",
        "not-a-time",
        "hour-24",
        "daily-without-time",
        "zero-rate",
        "negative-rate",
        "unknown-template",
        "journey-missing",
        "bad-action",
    ],
)
def test_bad_input_is_refused_naming_the_field(api, segment, changes, field, reason):
    response = api("post", "/api/broadcasts", body(segment, **changes))

    assert response.status_code == 400, response.content
    assert set(response.json()) == {"detail", "errors"}
    assert reason in " ".join(response.json()["errors"][field])
    assert api("get", "/api/broadcasts").json()["results"] == [], "nothing stored"


def test_a_journey_that_is_not_live_is_refused(api, segment, workspace):
    journey = live_journey(workspace.workspace, {})
    Journey.objects.filter(pk=journey.pk).update(status=Journey.PAUSED)

    response = api(
        "post", "/api/broadcasts", body(segment, action="journey", journey_id=journey.pk)
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"journey_id": ["the journey is paused, not live"]}


def test_scheduling_a_draft_whose_time_passed_is_a_409_naming_it(api, segment, client, workspace):
    url = f"/api/broadcasts/{api('post', '/api/broadcasts', body(segment)).json()['id']}"
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        response = client.post(
            f"{url}/schedule", HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}"
        )

    assert response.status_code == 409
    assert response.json()["errors"] == {"send_at": ["must be in the future"]}
    assert api("get", url).json()["status"] == "draft"


def test_another_workspaces_broadcast_is_a_404(api, segment, other_workspace):
    url = f"/api/broadcasts/{api('post', '/api/broadcasts', body(segment)).json()['id']}"

    for method, path in [("get", url), ("post", f"{url}/cancel"), ("delete", url)]:
        response = api(method, path, key=other_workspace.secret_key)
        assert response.status_code == 404, (method, path)
