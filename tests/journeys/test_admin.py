"""Operators write, publish, pause and stop journeys in the admin, and read who is where."""

import datetime as dt
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from engage.journeys import services
from engage.journeys.models import Enrollment, Journey, JourneyVersion, NodeCount
from tests.customer_factories import ProfileFactory
from tests.dashboards.tables import chart_tables

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
VERSION_ADD = "/admin/journeys/journeyversion/add/"


def test_a_draft_with_errors_shows_each_path_and_saves_nothing(admin_client, workspace):
    journey = Journey.objects.create(workspace=workspace.workspace, name="Welcome")
    broken = {**FLOW, "nodes": {**FLOW["nodes"], "done": {"type": "teleport"}}}
    broken["nodes"]["pause"] = {"type": "wait", "duration": {"hours": 0}, "next": "done"}

    page = admin_client.post(VERSION_ADD, {"journey": journey.pk, "definition": json.dumps(broken)})

    assert page.status_code == 200
    assert "definition.nodes.pause.duration: must be longer than zero" in page.text
    assert "definition.nodes.done.type: unknown node type &#x27;teleport&#x27;" in page.text
    assert not JourneyVersion.objects.exists()


def test_a_draft_is_saved_published_and_then_read_only(admin_client, workspace):
    journey = Journey.objects.create(workspace=workspace.workspace, name="Welcome")
    saved = admin_client.post(VERSION_ADD, {"journey": journey.pk, "definition": json.dumps(FLOW)})
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    version = JourneyVersion.objects.get()
    assert (version.number, version.definition, version.published_at) == (1, FLOW, None)

    published = admin_client.post(
        "/admin/journeys/journeyversion/",
        {"action": "publish", "_selected_action": [version.pk]},
        follow=True,
    )

    assert "Welcome v1 is published." in published.text
    journey.refresh_from_db()
    assert (journey.status, journey.live_version_id) == (Journey.LIVE, version.pk)
    url = f"/admin/journeys/journeyversion/{version.pk}/change/"
    page = admin_client.get(url)
    assert "Save" not in page.text and "&quot;duration&quot;" in page.text
    changed = {**FLOW, "start": "done"}
    admin_client.post(url, {"definition": json.dumps(changed)})
    version.refresh_from_db()
    assert version.definition == FLOW


def test_pause_resume_and_stop_actions_name_what_they_refuse(admin_client, workspace):
    journey = live_journey(workspace.workspace, FLOW, name="Welcome")
    draft = Journey.objects.create(workspace=workspace.workspace, name="Draft")

    def act(action):
        return admin_client.post(
            "/admin/journeys/journey/",
            {"action": action, "_selected_action": [journey.pk, draft.pk]},
            follow=True,
        ).text

    page = act("pause")
    assert "Welcome: paused." in page
    assert "Draft: the journey is draft, not live" in page
    assert "Welcome: live again." in act("resume")
    assert "Welcome: stopped, its customers let out." in act("stop")
    journey.refresh_from_db()
    draft.refresh_from_db()
    assert (journey.status, draft.status) == (Journey.STOPPED, Journey.DRAFT)


def test_the_journey_page_shows_counts_per_node(admin_client, workspace):
    journey = live_journey(workspace.workspace, FLOW, name="Welcome")
    NodeCount.objects.create(version=journey.live_version, node_id="pause", edge="", count=4)
    NodeCount.objects.create(version=journey.live_version, node_id="pause", edge="next", count=3)
    Enrollment.objects.create(
        workspace=journey.workspace,
        journey=journey,
        version=journey.live_version,
        profile=ProfileFactory(workspace=workspace.workspace),
        node_id="pause",
        waiting=True,
        entered_at=T0,
    )

    page = admin_client.get(f"/admin/journeys/journey/{journey.pk}/change/").text

    # arrived, waiting now, left (the dashboards app's funnel per node)
    assert chart_tables(page)[f"journey-{journey.pk}"][0] == ["pause (wait)", "4", "1", "3"]
    assert "version 1" in page


def test_an_operator_sees_only_their_workspace_journeys_and_enrollments(workspace, other_workspace):
    ours = live_journey(workspace.workspace, FLOW, name="Ours")
    theirs = live_journey(other_workspace.workspace, FLOW, name="Theirs")
    for journey in (ours, theirs):
        Enrollment.objects.create(
            workspace=journey.workspace,
            journey=journey,
            version=journey.live_version,
            profile=ProfileFactory(workspace=journey.workspace),
            node_id="pause",
            entered_at=T0,
        )
    user = User.objects.create_user("ann", password="not-used", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="journeys", codename__startswith="view_")
    )
    workspace.workspace.members.add(user)
    client = Client()
    client.force_login(user)

    journeys = client.get("/admin/journeys/journey/").text
    enrollments = client.get("/admin/journeys/enrollment/").text
    versions = client.get("/admin/journeys/journeyversion/").text

    assert "Ours" in journeys and "Theirs" not in journeys
    assert ">Ours<" in enrollments and ">Theirs<" not in enrollments
    assert "Ours v1" in versions and "Theirs v1" not in versions
    assert client.get(f"/admin/journeys/journey/{theirs.pk}/change/").status_code == 302


def test_a_journey_added_in_the_admin_is_a_draft(admin_client, workspace):
    response = admin_client.post(
        "/admin/journeys/journey/add/",
        {
            "workspace": workspace.workspace.pk,
            "name": "Welcome",
            "description": "",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    journey = Journey.objects.get()
    assert (journey.name, journey.status, journey.workspace) == (
        "Welcome",
        Journey.DRAFT,
        workspace.workspace,
    )
    taken = admin_client.post(
        "/admin/journeys/journey/add/",
        {
            "workspace": workspace.workspace.pk,
            "name": "Welcome",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert taken.status_code == 200 and Journey.objects.count() == 1


def test_a_stopped_journey_is_deleted_in_the_admin_with_its_versions(admin_client, workspace):
    journey = live_journey(workspace.workspace, FLOW, name="Welcome")
    Enrollment.objects.create(
        workspace=journey.workspace,
        journey=journey,
        version=journey.live_version,
        profile=ProfileFactory(workspace=workspace.workspace),
        node_id="pause",
        entered_at=T0,
    )
    url = f"/admin/journeys/journey/{journey.pk}/delete/"
    assert admin_client.get(url).status_code == 403  # live: stop it first
    services.stop(journey=journey)

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Journey.objects.exists() and not JourneyVersion.objects.exists()


def test_a_draft_version_can_be_deleted_in_the_admin_and_a_published_one_cannot(
    admin_client, workspace
):
    journey = live_journey(workspace.workspace, FLOW, name="Welcome")
    draft = services.save_draft(journey=journey, definition=FLOW)
    published = f"/admin/journeys/journeyversion/{journey.live_version.pk}/delete/"
    assert admin_client.get(published).status_code == 403

    response = admin_client.post(
        f"/admin/journeys/journeyversion/{draft.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert list(JourneyVersion.objects.values_list("number", flat=True)) == [1]
