"""Every message says what sent it: the API, a broadcast, or a journey's node."""

import pytest
from django.contrib.auth import get_user_model

from engage.messaging import services
from engage.messaging.models import Message
from engage.messaging.rendering import Content

pytestmark = pytest.mark.django_db


def create(workspace, customer, **provenance):
    return services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        category="marketing",
        content=Content(body="Your basket misses you"),
        send_now=False,
        **provenance,
    ).message


def read(client, workspace, message):
    return client.get(
        f"/api/messages/{message.pk}", HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}"
    ).json()


def test_a_journey_message_says_which_journey_version_node_and_enrollment_sent_it(
    client, workspace, customer
):
    message = create(
        workspace,
        customer,
        source="journey",
        journey_id=7,
        journey_version=3,
        journey_node_id="41",
        enrollment_id=9001,
    )

    detail = read(client, workspace, message)
    assert {k: detail[k] for k in ("source", "journey_id", "journey_version")} == {
        "source": "journey",
        "journey_id": 7,
        "journey_version": 3,
    }
    assert (detail["journey_node_id"], detail["enrollment_id"]) == ("41", 9001)

    client.force_login(
        get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    )
    page = client.get(f"/admin/messaging/message/{message.pk}/change/").content.decode()
    assert "journey" in page and "9001" in page
    listing = client.get("/admin/messaging/message/", {"source": "journey"}).content.decode()
    assert f"/admin/messaging/message/{message.pk}/change/" in listing


def test_a_message_sent_through_the_api_says_api(client, workspace, customer):
    response = client.post(
        "/api/messages/send",
        {"profile_id": customer.pk, "channel": "email", "category": "marketing", "body": "Hi"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}",
    )

    body = response.json()
    assert body["source"] == "api"
    assert [body[k] for k in ("journey_id", "journey_version", "journey_node_id")] == [None] * 3
    assert body["enrollment_id"] is None


def test_an_unknown_source_is_refused_naming_it(workspace, customer):
    with pytest.raises(services.MessageInputError) as refused:
        create(workspace, customer, source="carrier-pigeon")

    assert refused.value.field == "source"
    assert "api, journey, broadcast" in refused.value.reason
    assert not Message.objects.exists()
