"""The in-app inbox: per-profile tokens, listing, read (an open) and dismiss, isolation."""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from engage.events.models import Event
from engage.messaging.models import Message
from engage.profiles.merge import merge_profiles
from engage.profiles.models import Identity, Profile, ProfileMerge
from plugins.inapp import InAppChannel


def api(key=None, token=None) -> APIClient:
    client = APIClient()
    if key or token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key or token}")
    return client


def issue_token(workspace, user_id="u-1") -> str:
    response = api(workspace.secret_key).post(
        "/api/inbox/tokens", {"user_id": user_id}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["token"]


def deliver(make_message, body, profile=None) -> Message:
    message = make_message("inapp", body=body, profile=profile, status=Message.SENDING)
    channel = InAppChannel({})
    result = channel.send(message=message, address=channel.address_for(message.profile))
    Message.objects.filter(pk=message.pk).update(
        status=Message.SENT, provider_message_id=result.provider_message_id
    )
    return message


def test_app_lists_reads_and_dismisses(workspace, customer, make_message):
    first = deliver(make_message, "Welcome aboard")
    deliver(make_message, "Your points doubled")
    app = api(token=issue_token(workspace))

    listing = app.get("/inbox/messages").json()
    assert [m["body"] for m in listing["results"]] == ["Your points doubled", "Welcome aboard"]
    assert listing["unread"] == 2

    entry_id = listing["results"][1]["id"]
    assert app.post(f"/inbox/messages/{entry_id}/read").status_code == 200
    assert app.post(f"/inbox/messages/{entry_id}/read").status_code == 200  # twice: one open
    first.refresh_from_db()
    assert first.status == Message.OPENED and first.opened_at is not None
    assert Event.objects.filter(profile=customer, name="In-App Opened").count() == 1
    assert app.get("/inbox/messages").json()["unread"] == 1

    assert app.post(f"/inbox/messages/{entry_id}/dismiss").status_code == 200
    assert [m["body"] for m in app.get("/inbox/messages").json()["results"]] == [
        "Your points doubled"
    ]


def test_sending_the_same_message_again_adds_no_entry(workspace, customer, make_message):
    message = deliver(make_message, "Once")
    InAppChannel({}).send(message=message, address="u-1")
    assert len(api(token=issue_token(workspace)).get("/inbox/messages").json()["results"]) == 1


def test_a_token_sees_only_its_own_customer(workspace, other_workspace, customer, make_message):
    neighbour = Profile.objects.create(workspace=workspace.workspace)
    Identity.objects.create(
        workspace=workspace.workspace, profile=neighbour, kind="user_id", value="u-2"
    )
    mine = deliver(make_message, "For Ada")
    deliver(make_message, "For the neighbour", profile=neighbour)
    entry_id = mine.inbox_entry.pk

    neighbour_app = api(token=issue_token(workspace, "u-2"))
    assert [m["body"] for m in neighbour_app.get("/inbox/messages").json()["results"]] == [
        "For the neighbour"
    ]
    assert neighbour_app.post(f"/inbox/messages/{entry_id}/read").status_code == 404
    assert neighbour_app.post(f"/inbox/messages/{entry_id}/dismiss").status_code == 404
    mine.refresh_from_db()
    assert mine.status == Message.SENT

    # Another workspace's key cannot get a token for this workspace's customer.
    response = api(other_workspace.secret_key).post(
        "/api/inbox/tokens", {"user_id": "u-1"}, format="json"
    )
    assert response.status_code == 404


def test_bad_expired_and_missing_tokens_are_refused(workspace, customer):
    token = issue_token(workspace)
    assert api().get("/inbox/messages").status_code == 401
    assert api(token=token[:-2] + "xx").get("/inbox/messages").status_code == 401
    # A secret key is not an inbox token either.
    assert api(token=workspace.secret_key).get("/inbox/messages").status_code == 401
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=31)):
        response = api(token=token).get("/inbox/messages")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


@pytest.mark.parametrize(
    "body,error",
    [
        ({}, {"user_id": "required (or profile_id)"}),
        ({"profile_id": "x"}, {"profile_id": "must be an integer"}),
        ({"profile_id": "12"}, {"profile_id": "must be an integer"}),
        ({"user_id": 12}, {"user_id": "must be a string"}),
        (
            {"user_id": "u-1", "profile_id": 1},
            {"profile_id": "give user_id or profile_id, not both"},
        ),
        ("u-1", {}),
        ({"user_id": "   "}, {"user_id": "This field may not be blank."}),
    ],
)
def test_token_requests_name_the_bad_field(workspace, body, error):
    response = api(workspace.secret_key).post("/api/inbox/tokens", body, format="json")
    assert response.status_code == 400
    assert {k: v[0] for k, v in response.json()["errors"].items()} == error


def test_write_keys_cannot_issue_tokens(workspace, customer):
    response = api(workspace.write_key).post("/api/inbox/tokens", {"user_id": "u-1"}, format="json")
    assert response.status_code in (401, 403)


def test_after_a_merge_both_tokens_see_the_one_customers_inbox(workspace, customer, make_message):
    phone_profile = Profile.objects.create(workspace=workspace.workspace)
    Identity.objects.create(
        workspace=workspace.workspace, profile=phone_profile, kind="user_id", value="old-id"
    )
    deliver(make_message, "Sent before the merge", profile=phone_profile)
    old_token = issue_token(workspace, "old-id")
    deliver(make_message, "Sent to Ada")

    merge_profiles(survivor=customer, merged=phone_profile, reason=ProfileMerge.MANUAL)

    for token in (old_token, issue_token(workspace, "u-1")):
        bodies = {m["body"] for m in api(token=token).get("/inbox/messages").json()["results"]}
        assert bodies == {"Sent before the merge", "Sent to Ada"}


def test_the_inbox_pages_by_cursor_and_counts_unread_over_all_pages(
    workspace, customer, make_message
):
    for body in ["one", "two", "three"]:
        deliver(make_message, body)
    app = api(token=issue_token(workspace))

    first = app.get("/inbox/messages?limit=2").json()
    second = app.get(first["next"]).json()
    assert [m["body"] for m in first["results"] + second["results"]] == ["three", "two", "one"]
    assert first["unread"] == second["unread"] == 3
    assert second["next"] is None
    assert app.get(second["previous"]).json()["results"] == first["results"]

    bad = app.get("/inbox/messages?cursor=nonsense")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["cursor"]
