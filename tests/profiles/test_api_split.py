"""Splitting a merge over the API (the split itself is profiles.merge.split_merge)."""

import pytest
from rest_framework.test import APIClient

from engage.profiles.models import ProfileMerge
from tests.customer_factories import EventFactory, IdentityFactory, MergeFactory, ProfileFactory
from tests.identity_helpers import send


@pytest.fixture
def api(workspace) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}")
    return client


def test_split_restores_what_the_merged_profile_brought(api, workspace):
    survivor = ProfileFactory(workspace=workspace.workspace)
    IdentityFactory(profile=survivor, kind="user_id", value="u-1")
    merge = MergeFactory(survivor=survivor)
    brought = IdentityFactory(profile=survivor, kind="anonymous_id", value="anon-tablet")
    merge.identity_ids = [brought.pk]
    merge.save()
    EventFactory(profile=survivor, origin_profile_id=merge.merged_id, message_id="from-tablet")
    EventFactory(profile=survivor, message_id="from-laptop")

    response = api.post(f"/api/merges/{merge.pk}/split")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["merge"]["id"] == merge.pk
    assert body["merge"]["split_at"] is not None
    assert body["profile"]["id"] == merge.merged_id
    assert body["profile"]["identities"] == [{"kind": "anonymous_id", "value": "anon-tablet"}]
    tablet = api.get(f"/api/profiles/{merge.merged_id}/events").json()["results"]
    assert [e["message_id"] for e in tablet] == ["from-tablet"]
    laptop = api.get(f"/api/profiles/{survivor.pk}").json()
    assert laptop["identities"] == [{"kind": "user_id", "value": "u-1"}]
    assert laptop["merges"][0]["split_at"] == body["merge"]["split_at"]

    merge.refresh_from_db()
    assert merge.split_by.startswith("sk_")
    again = api.post(f"/api/merges/{merge.pk}/split")
    assert again.status_code == 409
    assert "already split" in again.json()["detail"]


def test_a_merge_made_by_processing_can_be_split_from_the_api(api, workspace):
    ws = workspace.workspace
    send(ws, "page", anonymous_id="anon-phone", name="Home")
    send(ws, "identify", user_id="u-7", traits={"email": "lin@example.com"})
    send(ws, "identify", user_id="u-7", anonymous_id="anon-phone")

    customer = api.get("/api/profiles/lookup", {"email": "lin@example.com"}).json()
    (merge,) = customer["merges"]
    assert {"kind": "anonymous_id", "value": "anon-phone"} in customer["identities"]

    response = api.post(f"/api/merges/{merge['id']}/split")

    assert response.status_code == 200, response.content
    phone = api.get("/api/profiles/lookup", {"anonymous_id": "anon-phone"}).json()["id"]
    user = api.get("/api/profiles/lookup", {"user_id": "u-7"}).json()["id"]
    assert phone != user
    assert {phone, user} == {merge["merged_profile_id"], merge["survivor_profile_id"]}
    # The merged id no longer resolves to the survivor.
    restored = api.get(f"/api/profiles/{merge['merged_profile_id']}").json()
    assert restored["id"] == merge["merged_profile_id"]
    assert ProfileMerge.objects.get(pk=merge["id"]).split_at is not None
