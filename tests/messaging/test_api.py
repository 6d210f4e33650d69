import pytest
import time_machine

from engage.messaging.models import Message, MessageDecision, MessageTemplate
from engage.messaging.sending import send_message
from engage.profiles.models import Profile

from .helpers import queue_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    def call(method, path, key, body=None):
        return getattr(client, method)(
            path,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    return call


def send(api, key, **body):
    return api("post", "/api/messages/send", key, body)


def test_send_raw_content_to_a_profile_delivers_it(
    api, workspace, email_channel, customer, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            api,
            workspace.secret_key,
            profile_id=customer.pk,
            channel="email",
            category="transactional",
            subject="Order {{ traits.first_name }}",
            body="Thanks {{ traits.first_name }}",
            idempotency_key="order-1",
        )

    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == Message.SENT
    assert smtp_server.messages[0]["mail"]["Subject"] == "Order Ada"
    detail = api("get", f"/api/messages/{message.pk}", workspace.secret_key).json()
    assert detail["status"] == "sent" and detail["address"] == "ada@example.com"

    again = send(
        api,
        workspace.secret_key,
        profile_id=customer.pk,
        channel="email",
        category="transactional",
        body="Thanks",
        idempotency_key="order-1",
    )
    assert again.status_code == 200 and again.json()["id"] == message.pk
    assert len(smtp_server.messages) == 1


def test_send_a_template_to_a_customer_found_by_identifier(api, workspace, email_channel, customer):
    MessageTemplate.objects.create(
        workspace=workspace.workspace, name="welcome", channel="email", body="Welcome!"
    )
    response = send(
        api,
        workspace.secret_key,
        identifier={"email": "ADA@example.com"},
        channel="email",
        category="marketing",
        template="welcome",
    )
    assert response.status_code == 202, response.json()
    assert response.json()["profile_id"] == customer.pk
    assert Message.objects.get(pk=response.json()["id"]).body == "Welcome!"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "marketing", "body": "x"}, "channel"),
        ({"channel": "email", "category": "spam", "body": "x"}, "category"),
        ({"channel": "pigeon", "category": "marketing", "body": "x"}, "channel"),
        ({"channel": "email", "category": "marketing"}, "body"),
        ({"channel": "email", "category": "marketing", "template": "nope"}, "template"),
        ({"channel": "email", "category": "marketing", "template": "a", "body": "x"}, "template"),
        ({"channel": "email", "category": "marketing", "body": "{% if %}"}, "body"),
        ({"identifier": {"shoe": "42"}, "channel": "email", "category": "marketing"}, "identifier"),
        # JSON types as the schema states them: nothing is coerced
        ({"channel": 7, "category": "marketing", "body": "x"}, "channel"),
        ({"channel": "email", "category": "marketing", "body": "x", "priority": "5"}, "priority"),
        ({"channel": "email", "category": "marketing", "body": "x", "priority": True}, "priority"),
        ({"channel": "", "category": "service", "body": "x"}, "channel"),
    ],
)
def test_bad_send_requests_are_refused_naming_the_field(api, workspace, customer, body, field):
    if "identifier" not in body:
        body = {"profile_id": customer.pk, **body}
    response = send(api, workspace.secret_key, **body)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not Message.objects.exists()


def test_a_customer_without_an_address_is_skipped_and_the_reason_is_readable(
    api, workspace, email_channel, django_capture_on_commit_callbacks
):
    nobody = Profile.objects.create(workspace=workspace.workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            api,
            workspace.secret_key,
            profile_id=nobody.pk,
            channel="email",
            category="marketing",
            body="Sale",
        )
    message_id = response.json()["id"]

    url = f"/api/profiles/{nobody.pk}/decisions"
    decisions = api("get", url, workspace.secret_key).json()["results"]

    assert [(d["message_id"], d["action"], d["reason"]) for d in decisions] == [
        (message_id, "skip", "no_address")
    ]


def test_another_workspace_key_sees_and_sends_nothing_here(
    api, workspace, other_workspace, email_channel, customer, smtp_server
):
    theirs = other_workspace.secret_key
    response = send(
        api, theirs, profile_id=customer.pk, channel="email", category="marketing", body="x"
    )
    assert response.status_code == 404
    assert "profile_id" in response.json()["detail"]
    by_email = send(
        api,
        theirs,
        identifier={"email": "ada@example.com"},
        channel="email",
        category="marketing",
        body="x",
    )
    assert by_email.status_code == 404

    mine = send(
        api,
        workspace.secret_key,
        profile_id=customer.pk,
        channel="email",
        category="marketing",
        body="x",
    ).json()["id"]
    assert api("get", f"/api/messages/{mine}", theirs).status_code == 404
    assert api("get", f"/api/profiles/{customer.pk}/decisions", theirs).status_code == 404
    assert smtp_server.messages == []


def test_a_write_key_cannot_send(api, workspace, customer):
    response = send(
        api,
        workspace.write_key,
        profile_id=customer.pk,
        channel="email",
        category="marketing",
        body="x",
    )
    assert response.status_code == 403


def test_consent_changes_are_recorded_with_history_and_drive_sending(
    api, workspace, other_workspace, email_channel, customer
):
    url = f"/api/profiles/{customer.pk}/consents"
    key = workspace.secret_key

    out = api("post", url, key, {"channel": "email", "status": "opted_out", "source": "crm"})
    assert out.status_code == 201, out.json()
    promo = queue_email(workspace.workspace, customer, category="marketing")
    send_message(promo.pk)
    promo.refresh_from_db()
    assert promo.status == Message.SKIPPED

    back = api("post", url, key, {"channel": "email", "status": "opted_in", "source": "prefs"})
    assert back.status_code == 201
    again = queue_email(workspace.workspace, customer, category="marketing")
    assert send_message(again.pk) == Message.SENT

    history = api("get", url, key).json()["results"]
    assert [(c["status"], c["source"]) for c in history] == [
        ("opted_in", "prefs"),
        ("opted_out", "crm"),
    ]
    bad = api("post", url, key, {"status": "maybe"})
    assert bad.status_code == 400 and "status" in bad.json()["errors"]
    assert api("get", url, other_workspace.secret_key).status_code == 404
    assert api("post", url, other_workspace.secret_key, {"status": "opted_in"}).status_code == 404


def test_consent_history_pages_by_cursor_newest_first_across_equal_times(api, workspace, customer):
    """Rows written in the same instant are neither skipped nor repeated between pages."""
    key, url = workspace.secret_key, f"/api/profiles/{customer.pk}/consents"
    with time_machine.travel("2025-03-01 12:00:00+00:00", tick=False):
        for source in ["a", "b", "c", "d", "e"]:
            body = {"channel": "email", "status": "opted_in", "source": source}
            assert api("post", url, key, body).status_code == 201

    pages, link = [], f"{url}?limit=2"
    while link:
        pages.append(api("get", link, key).json())
        link = pages[-1]["next"]
    assert [[c["source"] for c in page["results"]] for page in pages] == [
        ["e", "d"],
        ["c", "b"],
        ["a"],
    ]
    assert pages[0]["previous"] is None
    assert api("get", pages[2]["previous"], key).json()["results"] == pages[1]["results"]

    for query, parameter in [("cursor=nonsense", "cursor"), ("limit=501", "limit")]:
        bad = api("get", f"{url}?{query}", key)
        assert bad.status_code == 400, query
        assert list(bad.json()["errors"]) == [parameter]


def test_decisions_page_by_cursor_newest_first(api, workspace, customer):
    for reason in ["first", "second", "third"]:
        MessageDecision.objects.create(
            workspace=workspace.workspace,
            profile=customer,
            channel="email",
            action=MessageDecision.SKIP,
            reason=reason,
        )
    url = f"/api/profiles/{customer.pk}/decisions?limit=2"
    first = api("get", url, workspace.secret_key).json()
    second = api("get", first["next"], workspace.secret_key).json()
    assert [d["reason"] for d in first["results"] + second["results"]] == [
        "third",
        "second",
        "first",
    ]
    assert second["next"] is None
