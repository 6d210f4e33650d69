"""Operators build segments in the admin: errors name the bad node, the rule
reads as a sentence, Preview counts before saving, sizes show over time."""

import datetime as dt
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from engage.segments.models import Segment, SegmentSize
from tests.customer_factories import ProfileFactory
from tests.dashboards.tables import chart_tables

pytestmark = pytest.mark.django_db

PRO = {"trait": {"key": "plan", "op": "equals", "value": "pro"}}
ADD_URL = "/admin/segments/segment/add/"
PREVIEW_URL = "/admin/segments/segment/preview/"


def form(workspace, name, rules, kind="dynamic"):
    return {
        "workspace": workspace.pk,
        "name": name,
        "description": "",
        "kind": kind,
        "rules": json.dumps(rules),
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }


def test_bad_rules_are_shown_with_their_path_and_nothing_is_saved(admin_client, workspace):
    page = admin_client.post(
        ADD_URL,
        form(workspace.workspace, "Bad", {"and": [PRO, {"event": {"name": "X", "at_least": -1}}]}),
    )
    assert page.status_code == 200
    assert "rules.and[1].event.at_least: must be an integer from 0 to 1000000" in page.text
    assert not Segment.objects.exists()


def test_saved_segment_shows_its_summary_members_and_size(
    admin_client, workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    pro = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(ADD_URL, form(ws, "Pro", PRO))
    assert response.status_code == 302, response.context["adminform"].form.errors
    segment = Segment.objects.get(name="Pro")
    assert segment.dependencies["trait_keys"] == ["plan"]
    SegmentSize.objects.create(segment=segment, date=dt.date(2026, 5, 1), size=7)

    page = admin_client.get(f"/admin/segments/segment/{segment.pk}/change/").text
    assert "plan is &quot;pro&quot;" in page
    assert f"/admin/profiles/profile/{pro.pk}/change/" in page  # listed as a member
    assert ["2026-05-01", "7"] in chart_tables(page)[f"segment-{segment.pk}"]
    assert "Preview count and members" in page


def test_preview_counts_and_samples_without_saving(admin_client, workspace):
    ws = workspace.workspace
    pros = [ProfileFactory(workspace=ws, traits={"plan": "pro"}) for _ in range(3)]
    ProfileFactory(workspace=ws, traits={"plan": "free"})
    response = admin_client.post(PREVIEW_URL, {"workspace": ws.pk, "rules": json.dumps(PRO)})
    body = response.json()
    assert body["count"] == 3
    assert {m["id"] for m in body["sample"]} == {p.pk for p in pros}
    assert body["summary"] == 'plan is "pro"'
    assert not Segment.objects.exists()

    bad = admin_client.post(
        PREVIEW_URL, {"workspace": ws.pk, "rules": json.dumps({"trait": {"key": "plan"}})}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"rules.trait.op": ["is required"]}
    not_json = admin_client.post(PREVIEW_URL, {"workspace": ws.pk, "rules": "{oops"})
    assert not_json.json()["detail"].startswith("rules: not valid JSON")
    assert list(not_json.json()["errors"]) == ["rules"]
    bad_id = admin_client.post(
        PREVIEW_URL, {"workspace": ws.pk, "rules": json.dumps(PRO), "segment": "x"}
    )
    assert bad_id.status_code == 400 and list(bad_id.json()["errors"]) == ["segment"]


def test_staff_see_and_preview_only_their_workspaces(workspace, other_workspace):
    user = User.objects.create_user("olga", password="not-used", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="segments", codename__endswith="segment")
    )
    other_workspace.workspace.members.add(user)
    client = Client()
    client.force_login(user)
    theirs = Segment.objects.create(workspace=workspace.workspace, name="Acme only", rules=PRO)
    ProfileFactory(workspace=workspace.workspace, traits={"plan": "pro"})

    assert "Acme only" not in client.get("/admin/segments/segment/").text
    assert client.get(f"/admin/segments/segment/{theirs.pk}/change/").status_code in (302, 404)
    preview = client.post(
        PREVIEW_URL, {"workspace": workspace.workspace.pk, "rules": json.dumps(PRO)}
    )
    assert preview.status_code == 400
    assert preview.json() == {
        "detail": "workspace: choose a workspace",
        "errors": {"workspace": ["choose a workspace"]},
    }


def test_a_segment_another_one_uses_is_not_deleted(admin_client, workspace):
    ws = workspace.workspace
    pro = Segment.objects.create(workspace=ws, name="Pro", rules=PRO)
    Segment.objects.create(workspace=ws, name="Pro buyers", rules={"segment": {"id": pro.pk}})

    page = admin_client.post(f"/admin/segments/segment/{pro.pk}/delete/", {"post": "yes"})

    assert page.status_code == 302
    assert page.url == f"/admin/segments/segment/{pro.pk}/change/"
    assert "was not deleted: segment(s) Pro buyers use it" in admin_client.get(page.url).text
    assert Segment.objects.filter(pk=pro.pk).exists()
    # Bulk deletion, which would skip that check, is not offered.
    changelist = admin_client.get("/admin/segments/segment/")
    assert 'value="delete_selected"' not in changelist.text


def test_an_unused_segment_is_deleted(admin_client, workspace):
    pro = Segment.objects.create(workspace=workspace.workspace, name="Pro", rules=PRO)

    page = admin_client.post(f"/admin/segments/segment/{pro.pk}/delete/", {"post": "yes"})

    assert page.status_code == 302
    assert not Segment.objects.filter(pk=pro.pk).exists()
