"""/api/templates: content written over HTTP, previewed for a customer, sent as a test."""

import pytest
from django.utils import timezone

from engage.messaging.models import MessageTemplate
from engage.messaging.services import create_message
from engage.scoring.models import Score

pytestmark = pytest.mark.django_db

WELCOME = {
    "name": "welcome",
    "channel": "email",
    "subject": "Welcome {{ traits.first_name }}",
    "body": "Hi {{ traits.first_name }}",
    "variants": {"fr": {"subject": "Bienvenue {{ traits.first_name }}"}},
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


def test_create_read_list_change_and_delete_a_template(api):
    created = api("post", "/api/templates", WELCOME)
    assert created.status_code == 201, created.json()
    template_id = created.json()["id"]
    assert api("get", f"/api/templates/{template_id}").json()["variants"] == WELCOME["variants"]
    api("post", "/api/templates", {**WELCOME, "name": "another"})
    listed = api("get", "/api/templates?limit=1").json()
    assert [t["name"] for t in listed["results"]] == ["another"] and listed["next"]

    changed = api("patch", f"/api/templates/{template_id}", {"body": "Hello {{ traits.email }}"})
    assert changed.status_code == 200, changed.json()
    assert changed.json()["body"] == "Hello {{ traits.email }}"
    assert changed.json()["subject"] == WELCOME["subject"]

    assert api("delete", f"/api/templates/{template_id}").status_code == 204
    assert api("get", f"/api/templates/{template_id}").status_code == 404


def test_a_liquid_syntax_error_is_refused_naming_the_field_and_line(api):
    response = api("post", "/api/templates", {**WELCOME, "body": "Hi\nthere\n{% iff x %}"})
    assert response.status_code == 400
    [reason] = response.json()["errors"]["body"]
    assert reason.startswith("line 3: ") and "iff" in reason
    bad_variant = {**WELCOME, "variants": {"fr": {"subject": "{{ x | }}"}}}
    response = api("post", "/api/templates", bad_variant)
    assert response.status_code == 400
    assert response.json()["errors"]["variants.fr.subject"][0].startswith("line 1: ")
    assert not MessageTemplate.objects.exists()


def test_a_change_with_a_liquid_error_leaves_the_template_as_it_was(api):
    template_id = api("post", "/api/templates", WELCOME).json()["id"]
    response = api("patch", f"/api/templates/{template_id}", {"subject": "{% if x %}"})
    assert response.status_code == 400 and "subject" in response.json()["errors"]
    assert MessageTemplate.objects.get(pk=template_id).subject == WELCOME["subject"]


def test_bad_envelopes_name_the_field(api):
    response = api("post", "/api/templates", {**WELCOME, "variants": {"fr": {"title": "x"}}})
    assert response.status_code == 400
    assert "variants.fr.title" in response.json()["errors"]
    api("post", "/api/templates", WELCOME)
    duplicate = api("post", "/api/templates", WELCOME)
    assert duplicate.status_code == 400 and "name" in duplicate.json()["errors"]


def test_preview_renders_the_customers_traits_scores_and_locale(api, workspace, customer):
    Score.objects.create(
        workspace=workspace.workspace,
        profile=customer,
        model="rfm",
        value=5.0,
        cell="champions",
        computed_at=timezone.now(),
    )
    body = {**WELCOME, "body": "Hi {{ traits.first_name }}, {{ scores.rfm.cell }}"}
    template_id = api("post", "/api/templates", body).json()["id"]

    preview = api("post", f"/api/templates/{template_id}/preview", {"profile_id": customer.pk})
    assert preview.status_code == 200, preview.json()
    assert preview.json()["subject"] == "Welcome Ada"
    assert preview.json()["body"] == "Hi Ada, champions"

    french = api(
        "post", f"/api/templates/{template_id}/preview", {"profile_id": customer.pk, "locale": "fr"}
    )
    assert french.json()["subject"] == "Bienvenue Ada" and french.json()["locale"] == "fr"
    missing = api("post", f"/api/templates/{template_id}/preview", {"profile_id": 999999})
    assert missing.status_code == 404


def test_a_test_send_delivers_one_email_to_the_address(api, email_channel, smtp_server, customer):
    template_id = api("post", "/api/templates", WELCOME).json()["id"]
    response = api(
        "post",
        f"/api/templates/{template_id}/test-send",
        {"to": "me@shop.example", "profile_id": customer.pk},
    )
    assert response.status_code == 200, response.json()
    [mail] = smtp_server.messages
    assert mail["to"] == ["me@shop.example"]
    assert mail["mail"]["Subject"] == "Welcome Ada"


def test_a_test_send_without_the_channel_or_with_a_bad_address_is_refused(api):
    template_id = api("post", "/api/templates", WELCOME).json()["id"]
    response = api("post", f"/api/templates/{template_id}/test-send", {"to": "me@shop.example"})
    assert response.status_code == 400 and "channel" in response.json()["errors"]
    response = api("post", f"/api/templates/{template_id}/test-send", {"to": "not-an-address"})
    assert response.status_code == 400 and "to" in response.json()["errors"]


def test_a_template_a_queued_message_uses_cannot_be_deleted(api, workspace, customer):
    template_id = api("post", "/api/templates", WELCOME).json()["id"]
    template = MessageTemplate.objects.get(pk=template_id)
    message = create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        category="transactional",
        template=template,
        send_now=False,
    ).message
    response = api("delete", f"/api/templates/{template_id}")
    assert response.status_code == 409
    assert str(message.pk) in response.json()["errors"]["id"][0]
    assert MessageTemplate.objects.filter(pk=template_id).exists()
    message.refresh_from_db()
    assert message.template_id == template_id


def test_another_workspaces_template_is_not_found_and_a_write_key_is_forbidden(
    api, workspace, other_workspace
):
    theirs = MessageTemplate.objects.create(
        workspace=other_workspace.workspace, name="theirs", channel="email", body="x"
    )
    for method, path in [
        ("get", f"/api/templates/{theirs.pk}"),
        ("patch", f"/api/templates/{theirs.pk}"),
        ("delete", f"/api/templates/{theirs.pk}"),
    ]:
        assert api(method, path, {}).status_code == 404
    assert MessageTemplate.objects.filter(pk=theirs.pk).exists()
    assert api("get", "/api/templates").json()["results"] == []
    assert api("get", "/api/templates", key=workspace.write_key).status_code == 403


def test_an_unknown_channel_is_refused(api):
    response = api("post", "/api/templates", {**WELCOME, "channel": "pigeon"})
    assert response.status_code == 400 and "channel" in response.json()["errors"]


def test_variants_that_are_not_an_object_are_refused(api):
    response = api("post", "/api/templates", {**WELCOME, "variants": [None, None]})
    assert response.status_code == 400, response.content
    assert "variants" in response.json()["errors"]


def test_a_test_send_the_mail_server_refuses_names_the_address(api, email_channel, smtp_server):
    smtp_server.reply = "550 5.1.1 no such user"
    template_id = api("post", "/api/templates", WELCOME).json()["id"]
    response = api("post", f"/api/templates/{template_id}/test-send", {"to": "me@shop.example"})
    assert response.status_code == 400 and "to" in response.json()["errors"], response.json()
