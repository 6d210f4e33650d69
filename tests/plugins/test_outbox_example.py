"""The example package with tables of its own (examples/engage-outbox): its
Django app comes in through the ``engage.apps`` entry-point group, its
migration runs with engage's, and its channel writes to its table."""

from importlib.metadata import entry_points

import pytest
from django.apps import apps

from engage.messaging import sending, services
from engage.messaging.models import Message
from engage.messaging.rendering import Content
from engage.plugins.services import configure_plugin
from engage.privacy.services import erase_profile
from engage.profiles.models import Identity, Profile

pytestmark = pytest.mark.django_db


def test_its_app_is_installed_through_the_entry_point_group():
    [entry] = [e for e in entry_points(group="engage.apps") if e.name == "outbox"]
    assert entry.dist.name == "engage-outbox"
    assert apps.get_app_config("engage_outbox").verbose_name == "Outbox"


@pytest.fixture
def sent(workspace):
    """A message sent through the outbox to a signed-in customer."""
    ws = workspace.workspace
    configure_plugin(workspace=ws, plugin_id="outbox", settings={})
    profile = Profile.objects.create(workspace=ws, traits={"first_name": "Ada"})
    Identity.objects.create(workspace=ws, profile=profile, kind="user_id", value="ada-1")
    message = services.create_message(
        workspace=ws,
        profile=profile,
        channel="outbox",
        category="transactional",
        content=Content(subject="Receipt", body="Thanks {{ traits.first_name }}"),
        send_now=False,
    ).message

    assert sending.send_message(message.pk) == Message.SENT
    return message


def test_a_message_sent_through_it_lands_in_its_table(workspace, sent):
    message, ws = sent, workspace.workspace
    outbox = apps.get_model("engage_outbox", "OutboxMessage")
    columns = ["workspace_id", "profile_id", "message_id", "address", "subject", "body"]
    [row] = outbox.objects.values(*columns)
    assert row == {
        "workspace_id": ws.pk,
        "profile_id": message.profile_id,
        "message_id": message.pk,
        "address": "ada-1",
        "subject": "Receipt",
        "body": "Thanks Ada",
    }
    message.refresh_from_db()
    assert message.provider_message_id == f"outbox-{outbox.objects.get().pk}"


def test_its_rows_go_with_the_customer_they_were_sent_to(sent):
    erase_profile(profile=sent.profile, requested_by="privacy@example.com")

    assert not apps.get_model("engage_outbox", "OutboxMessage").objects.exists()
