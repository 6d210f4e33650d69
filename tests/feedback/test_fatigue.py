"""Survey fatigue: a customer asked (or who answered) within the survey's
fatigue days is not asked again, whichever channel asked; the skip is in
their decision log."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from engage.feedback import services as feedback
from engage.messaging import services
from engage.messaging.models import Message, MessageDecision, MessageTemplate
from engage.messaging.sending import send_due, send_message
from engage.plugins.services import configure_plugin

pytestmark = pytest.mark.django_db


@pytest.fixture
def inapp_survey(workspace, nps_survey):
    """The NPS survey also asked in-app (the in-app channel enabled)."""
    configure_plugin(workspace=workspace.workspace, plugin_id="inapp", settings={})
    template = MessageTemplate.objects.create(
        workspace=workspace.workspace,
        name="nps-inapp",
        channel="inapp",
        subject="{{ survey.nps.question }}",
        body="{{ survey.nps.url }}",
    )
    nps_survey.templates.add(template)
    return template


def ask(workspace, customer, template, key: str) -> Message:
    message = services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel=template.channel,
        category="service",
        template=template,
        idempotency_key=key,
        send_now=False,
    ).message
    send_message(message.pk)
    message.refresh_from_db()
    return message


def test_a_customer_asked_recently_is_not_asked_again(workspace, customer, inapp_survey):
    first = ask(workspace, customer, inapp_survey, "ask-1")
    assert first.status == Message.SENT

    again = ask(workspace, customer, inapp_survey, "ask-2")
    assert again.status == Message.SKIPPED
    decision = MessageDecision.objects.get(message=again)
    assert decision.reason == "survey_fatigue"
    assert decision.detail == "the customer was asked for feedback within the last 30 days"

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert ask(workspace, customer, inapp_survey, "ask-3").status == Message.SENT


def test_an_answer_through_any_door_counts_as_asked(workspace, customer, inapp_survey):
    feedback.record_answer(
        feedback.Answer(profile=customer, kind="nps", score=8, key="api:kiosk", source="api")
    )
    asked = ask(workspace, customer, inapp_survey, "ask-1")
    assert asked.status == Message.SKIPPED
    assert MessageDecision.objects.get(message=asked).detail == (
        "the customer gave feedback within the last 30 days"
    )


def test_other_messages_are_not_survey_messages(workspace, customer, inapp_survey):
    ask(workspace, customer, inapp_survey, "ask-1")
    news = MessageTemplate.objects.create(
        workspace=workspace.workspace, name="news", channel="inapp", body="New in store"
    )
    assert ask(workspace, customer, news, "news-1").status == Message.SENT


def test_two_survey_messages_in_one_chunk_on_two_channels_ask_once(
    workspace, customer, nps_survey, inapp_survey
):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={"backend": "outbox", "from_email": "shop@acme.example"},
    )
    email = nps_survey.templates.get(channel="email")
    messages = [
        services.create_message(
            workspace=workspace.workspace,
            profile=customer,
            channel=template.channel,
            category="service",
            template=template,
            idempotency_key=template.name,
            send_now=False,
        ).message
        for template in (email, inapp_survey)
    ]

    send_due()  # one chunk claims both

    statuses = dict(Message.objects.values_list("channel", "status"))
    assert statuses == {"email": Message.SENT, "inapp": Message.SKIPPED}
    skip = MessageDecision.objects.get(message=messages[1])
    assert (skip.reason, skip.detail) == (
        "survey_fatigue",
        "the customer was asked for feedback within the last 30 days",
    )
