"""A template a running journey sends cannot be deleted; one no running journey needs can."""

import datetime as dt

import pytest

from engage.journeys import services
from engage.journeys.models import Enrollment
from engage.messaging.models import MessageTemplate
from engage.messaging.services import TemplateInUse, delete_template
from engage.plugins.models import PluginConfig
from tests.customer_factories import ProfileFactory

from .factories import live_journey

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def sending(template: str) -> dict:
    return {
        "trigger": {"manual": True},
        "start": "hello",
        "nodes": {
            "hello": {
                "type": "send",
                "channel": "email",
                "template": template,
                "category": "marketing",
                "next": "done",
            },
            "done": {"type": "exit"},
        },
    }


LADDER = {
    "trigger": {"manual": True},
    "start": "ask",
    "nodes": {
        "ask": {
            "type": "ladder",
            "rungs": [
                {"channel": "inapp", "template": "ask-inapp", "window": {"hours": 4}},
                {
                    "channel": "push",
                    "template": {"push": "ask-push", "webpush": "ask-web"},
                    "window": {"hours": 4},
                },
            ],
        }
    },
}


@pytest.fixture
def template(workspace):
    PluginConfig.objects.create(
        workspace=workspace.workspace, plugin_id="email", enabled=True, settings={}
    )

    def make(name: str, channel: str = "email") -> MessageTemplate:
        return MessageTemplate.objects.create(
            workspace=workspace.workspace, name=name, channel=channel, body="Hi"
        )

    return make


def test_deleting_a_template_a_live_journey_sends_is_a_409(client, workspace, template):
    welcome = template("welcome")
    live_journey(workspace.workspace, sending("welcome"), name="Welcome")

    response = client.delete(
        f"/api/templates/{welcome.pk}", HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}"
    )

    assert response.status_code == 409
    assert response.json()["errors"] == {"id": ["used by running journeys 'Welcome' (version 1)"]}
    assert MessageTemplate.objects.filter(pk=welcome.pk).exists()


def test_a_ladder_rung_s_templates_are_in_use_too(workspace, template):
    web = template("ask-web", "webpush")
    journey = live_journey(workspace.workspace, LADDER, name="Ask")
    services.pause(journey=journey)
    with pytest.raises(TemplateInUse, match="'Ask' \\(version 1\\)"):
        delete_template(web)


def test_a_version_customers_still_walk_keeps_its_templates(workspace, template):
    old = template("old")
    template("new")
    journey = live_journey(workspace.workspace, sending("old"), name="Welcome")
    Enrollment.objects.create(
        workspace=journey.workspace,
        journey=journey,
        version=journey.live_version,
        profile=ProfileFactory(workspace=workspace.workspace),
        node_id="hello",
        entered_at=T0,
    )
    services.publish(version=services.save_draft(journey=journey, definition=sending("new")))

    with pytest.raises(TemplateInUse, match="'Welcome' \\(version 1\\)"):
        delete_template(old)
    Enrollment.objects.update(ended_at=T0, end_reason=Enrollment.COMPLETED)
    delete_template(old)
    assert not MessageTemplate.objects.filter(name="old").exists()


def test_a_draft_or_stopped_journey_does_not_hold_a_template(workspace, template):
    drafted, stopped = template("drafted"), template("stopped")
    services.create_journey(
        workspace=workspace.workspace, name="Draft", definition=sending("drafted")
    )
    services.stop(journey=live_journey(workspace.workspace, sending("stopped"), name="Done"))

    delete_template(drafted)
    delete_template(stopped)

    assert not MessageTemplate.objects.exists()


def test_the_admin_refuses_to_delete_a_template_a_live_journey_sends(
    admin_client, workspace, template
):
    welcome = template("welcome")
    live_journey(workspace.workspace, sending("welcome"), name="Welcome")

    page = admin_client.post(
        f"/admin/messaging/messagetemplate/{welcome.pk}/delete/", {"post": "yes"}, follow=True
    )

    assert "The template was not deleted: used by running journeys &#x27;Welcome&#x27;" in page.text
    assert MessageTemplate.objects.filter(pk=welcome.pk).exists()
    unused = template("unused")
    admin_client.post(f"/admin/messaging/messagetemplate/{unused.pk}/delete/", {"post": "yes"})
    assert not MessageTemplate.objects.filter(pk=unused.pk).exists()
