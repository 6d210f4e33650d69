"""The decision log is the customer's ledger: why a message went out, why one
did not, and what sent it, in the API and on the customer's admin page."""

import pytest
from django.contrib.auth.models import Permission, User

from engage.messaging import sending, services
from engage.messaging.models import Message, MessageDecision
from engage.messaging.rendering import Content
from engage.profiles.models import Profile

from .helpers import queue_email

pytestmark = pytest.mark.django_db


def ledger(client, workspace, profile):
    response = client.get(
        f"/api/profiles/{profile.pk}/decisions",
        HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}",
    )
    assert response.status_code == 200
    return response.json()["results"]


def test_a_sent_message_is_a_send_decision_with_its_message_id(
    client, workspace, email_channel, customer, smtp_server
):
    message = queue_email(workspace.workspace, customer)

    assert sending.send_message(message.pk) == Message.SENT

    [sent] = ledger(client, workspace, customer)
    assert (sent["action"], sent["reason"], sent["message_id"]) == ("send", "sent", message.pk)
    assert (sent["channel"], sent["source"], sent["journey_id"]) == ("email", "message", None)


def test_a_skipped_message_is_listed_with_its_reason_newest_first(
    client, workspace, email_channel, customer, smtp_server
):
    sent = queue_email(workspace.workspace, customer)
    sending.send_message(sent.pk)
    customer.identities.all().delete()
    customer.traits = {"first_name": "Ada"}
    customer.save()
    skipped = queue_email(workspace.workspace, customer, key="second")

    sending.send_message(skipped.pk)

    rows = ledger(client, workspace, customer)
    assert [(d["action"], d["reason"], d["message_id"]) for d in rows] == [
        ("skip", "no_address", skipped.pk),
        ("send", "sent", sent.pk),
    ]


def test_a_journey_message_decision_names_the_journey_version_node_and_enrollment(
    client, workspace, email_channel, customer, smtp_server
):
    message = services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        category="transactional",
        content=Content(subject="Welcome", body="Hi"),
        send_now=False,
        source="journey",
        journey_id=7,
        journey_version=3,
        journey_node_id="41",
        enrollment_id=9001,
    ).message

    sending.send_message(message.pk)

    [sent] = ledger(client, workspace, customer)
    assert {k: sent[k] for k in ("action", "source", "journey_id", "journey_version")} == {
        "action": "send",
        "source": "journey",
        "journey_id": 7,
        "journey_version": 3,
    }
    assert (sent["journey_node_id"], sent["enrollment_id"]) == ("41", 9001)


def test_a_decision_without_a_message_is_listed(client, workspace, customer):
    MessageDecision.objects.create(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        action=MessageDecision.SKIP,
        reason="frequency_cap",
        source="journey",
        journey_id=7,
        journey_version=2,
        journey_node_id="12",
    )

    [row] = ledger(client, workspace, customer)
    assert (row["message_id"], row["action"], row["reason"]) == (None, "skip", "frequency_cap")
    assert (row["source"], row["journey_version"], row["journey_node_id"]) == ("journey", 2, "12")


def test_the_customer_admin_page_shows_the_ledger(
    client, workspace, email_channel, customer, smtp_server
):
    sent = queue_email(workspace.workspace, customer)
    sending.send_message(sent.pk)
    nobody = Profile.objects.create(workspace=workspace.workspace)
    skipped = queue_email(workspace.workspace, nobody)
    sending.send_message(skipped.pk)
    staff = User.objects.create_user("ann", password="not-used", is_staff=True)
    staff.user_permissions.set(
        [Permission.objects.get(content_type__app_label="profiles", codename="view_profile")]
    )
    workspace.workspace.members.add(staff)
    client.force_login(staff)

    page = client.get(f"/admin/profiles/profile/{customer.pk}/change/").content.decode()

    assert "Messaging ledger" in page
    assert f'href="/admin/messaging/message/{sent.pk}/change/"' in page
    assert "sent" in page and "email" in page
    assert "no_address" not in page  # another customer's decision
    other = client.get(f"/admin/profiles/profile/{nobody.pk}/change/").content.decode()
    assert "no_address" in other and f"/admin/messaging/message/{skipped.pk}/change/" in other
