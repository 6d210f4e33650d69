"""The audit trail: who created, published, paused, resumed, stopped or
edited which journey, template, messaging policy or broadcast, and when, with
the state before and after, read in the admin by that workspace's operators."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.broadcasts import services as broadcasts
from engage.broadcasts.models import Broadcast
from engage.journeys import services as journeys
from engage.messaging.models import MessagingPolicy
from engage.workspaces.models import ApiKey
from tests.broadcasts.factories import audience, inapp_template

pytestmark = pytest.mark.django_db

FLOW = {
    "trigger": {"manual": True},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"hours": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}
LONGER = {
    **FLOW,
    "nodes": {**FLOW["nodes"], "pause": {**FLOW["nodes"]["pause"], "duration": {"hours": 2}}},
}


@pytest.fixture
def api(client, workspace):
    def call(method, path, body=None):
        return getattr(client, method)(
            path,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}",
        )

    return call


def staff(username: str, workspace, *permissions: str) -> Client:
    user = User.objects.create_user(username, password="not-used", is_staff=True)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    workspace.members.add(user)
    client = Client()
    client.force_login(user)
    return client


def trail(object_type: str) -> list[tuple]:
    return list(
        AuditEntry.objects.filter(object_type=object_type)
        .order_by("id")
        .values_list("action", "before", "after")
    )


def test_a_journeys_life_over_the_api_is_recorded_with_the_key_and_each_change(api, workspace):
    created = api("post", "/api/journeys", {"name": "Welcome", "definition": FLOW}).json()
    base = f"/api/journeys/{created['id']}"
    assert api("post", f"{base}/versions/1/publish").status_code == 200
    assert api("post", f"{base}/versions", {"definition": LONGER}).status_code == 201
    for step in ("pause", "resume", "stop"):
        assert api("post", f"{base}/{step}").status_code == 200

    entries = trail("journey")

    state = {"name": "Welcome", "description": "", "status": "draft", "live_version": None}
    live = {**state, "status": "live", "live_version": 1}
    assert entries == [
        ("created", None, {**state, "definition": FLOW}),
        ("published", state, live),
        ("edited", {"definition": FLOW}, {"draft_version": 2, "definition": LONGER}),
        ("paused", live, {**live, "status": "paused"}),
        ("resumed", {**live, "status": "paused"}, live),
        ("stopped", live, {**live, "status": "stopped"}),
    ]
    key = ApiKey.objects.get(workspace=workspace.workspace, kind=ApiKey.SECRET)
    assert set(AuditEntry.objects.values_list("api_key", "user", "workspace")) == {
        (key.pk, None, workspace.workspace.pk)
    }
    assert AuditEntry.objects.first().actor.startswith(f"API key {key.prefix}")


def test_a_refused_change_leaves_no_entry(api, workspace):
    journey = journeys.create_journey(workspace=workspace.workspace, name="Welcome")

    assert api("post", f"/api/journeys/{journey.pk}/pause").status_code == 409

    assert [action for action, _, _ in trail("journey")] == ["created"]
    assert AuditEntry.objects.get().actor == "system"  # made outside a request


def test_a_templates_edits_show_the_fields_before_and_after(api):
    body = {"name": "welcome", "channel": "email", "subject": "Hi", "body": "Hello"}
    template_id = api("post", "/api/templates", body).json()["id"]
    assert api("patch", f"/api/templates/{template_id}", {"body": "Hello again"}).status_code == 200
    assert api("delete", f"/api/templates/{template_id}").status_code == 204

    [created, changed, deleted] = trail("message template")

    assert created[0] == "created" and created[2]["body"] == "Hello"
    assert changed[0] == "changed"
    assert (changed[1]["body"], changed[2]["body"]) == ("Hello", "Hello again")
    assert changed[1]["subject"] == changed[2]["subject"] == "Hi"
    assert deleted[0:2] == ("deleted", changed[2]) and deleted[2] is None


def test_a_broadcasts_schedule_pause_and_cancel_are_recorded(workspace):
    ws = workspace.workspace
    segment, _ = audience(ws, 1)
    inapp_template(ws)
    broadcast = broadcasts.create_broadcast(
        workspace=ws,
        name="winter sale",
        segment_id=segment.pk,
        action=Broadcast.MESSAGE,
        template="sale",
        schedule=Broadcast.ONCE,
        send_at=timezone.now() + dt.timedelta(hours=1),
        rate=2,
    )
    broadcasts.schedule_broadcast(broadcast=broadcast)
    broadcasts.pause_broadcast(broadcast=broadcast)
    broadcasts.cancel_broadcast(broadcast=broadcast)

    moves = [(action, (b or {}).get("status"), a["status"]) for action, b, a in trail("broadcast")]

    assert moves == [
        ("created", None, "draft"),
        ("scheduled", "draft", "scheduled"),
        ("paused", "scheduled", "paused"),
        ("cancelled", "paused", "cancelled"),
    ]


def test_a_policy_changed_in_the_admin_is_read_in_the_admin_by_its_workspace_only(
    workspace, other_workspace
):
    ws = workspace.workspace
    policy = MessagingPolicy.objects.create(workspace=ws, total_per_day=3)
    ann = staff(
        "ann",
        ws,
        "messaging.view_messagingpolicy",
        "messaging.change_messagingpolicy",
        "audit.view_auditentry",
    )
    form = {
        "workspace": ws.pk,
        "channel_caps": "{}",
        "total_per_day": 5,
        "total_per_week": "",
        "quiet_start": "",
        "quiet_end": "",
        "default_timezone": "UTC",
        "support_pause_days": 30,
        "preference_topics": "[]",
    }

    saved = ann.post(f"/admin/messaging/messagingpolicy/{policy.pk}/change/", form)

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.user.username, entry.action) == ("ann", "ann", "changed")
    assert (entry.before["total_per_day"], entry.after["total_per_day"]) == (3, 5)
    page = ann.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert "total_per_day" in page.text and "default_timezone" not in page.text  # only what changed
    assert ">3</pre>" in page.text and ">5</pre>" in page.text
    assert "ann" in ann.get("/admin/audit/auditentry/").text

    olga = staff("olga", other_workspace.workspace, "audit.view_auditentry")
    assert olga.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 302
    assert f"/admin/audit/auditentry/{entry.pk}/change/" in ann.get("/admin/audit/auditentry/").text
    assert f"/admin/audit/auditentry/{entry.pk}/" not in olga.get("/admin/audit/auditentry/").text
