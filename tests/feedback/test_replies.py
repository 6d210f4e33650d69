"""SMS and WhatsApp surveys: the customer's reply is read as the answer."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from engage.events.models import Event
from engage.feedback import replies
from engage.feedback.models import Feedback
from engage.messaging.models import Message, MessageTemplate
from engage.plugins.services import configure_plugin
from plugins.twilio_sms import twilio_signature

AUTH_TOKEN = "twilio-auth-token"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("9", (9, "")),
        ("nine", (9, "")),
        ("9 great service", (9, "great service")),
        ("10/10", (10, "")),
        ("Ten!", (10, "")),
        ("8 out of 10 - slow delivery", (8, "slow delivery")),
        ("call me back", None),
        ("99", None),
        ("11", None),
        ("3/5", None),
        ("", None),
    ],
)
def test_replies_are_read_as_a_score_and_a_comment(text, answer):
    assert replies.parse(text, "nps") == answer


def test_csat_replies_use_its_own_scale():
    assert replies.parse("4/5 fine", "csat") == (4, "fine")
    assert replies.parse("0", "csat") is None


@pytest.fixture
def sms_path(workspace):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="sms",
        settings={
            "account_sid": "AC" + "0" * 30 + "11",
            "auth_token": AUTH_TOKEN,
            "from_number": "+14155550123",
        },
    )
    return f"/hooks/{workspace.workspace.pk}/sms/"


def reply(client, path, sid, body):
    """The inbound text as Twilio posts it; its event is announced on commit."""
    params = {"MessageSid": sid, "From": "+14155552671", "To": "+14155550123", "Body": body}
    signature = twilio_signature(
        AUTH_TOKEN, f"http://testserver{path}", {k: [v] for k, v in params.items()}
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def asked_by_sms(workspace, customer, *, days_ago: float = 0.1) -> Message:
    at = timezone.now() - timedelta(days=days_ago)
    return Message.objects.create(
        workspace=workspace.workspace,
        profile=customer,
        channel="sms",
        category="service",
        template=MessageTemplate.objects.get(workspace=workspace.workspace, name="nps-sms"),
        body="How likely are you to recommend us? Reply 0-10.",
        idempotency_key=f"survey-{days_ago}",
        status=Message.DELIVERED,
        sending_at=at,
        sent_at=at,
    )


@pytest.mark.django_db
def test_a_reply_to_an_sms_survey_is_the_answer(client, workspace, customer, nps_survey, sms_path):
    asked = asked_by_sms(workspace, customer)
    assert reply(client, sms_path, "SMr1", "9 great service").status_code == 200
    assert reply(client, sms_path, "SMr1", "9 great service").status_code == 200  # redelivered

    feedback = Feedback.objects.get()
    assert (feedback.score, feedback.comment, feedback.category) == (9, "great service", "promoter")
    assert (feedback.message_id, feedback.channel, feedback.source) == (asked.pk, "sms", "reply")
    event = Event.objects.get(profile=customer, name="NPS Submitted")
    assert event.properties["comment"] == "great service"

    # The survey is answered: a later text is an ordinary message.
    reply(client, sms_path, "SMr2", "10")
    assert Feedback.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "days_ago"),
    [("Where is my order?", 0.1), ("9", 20), ("9", None)],
    ids=["unparseable", "after_the_answer_window", "never_asked"],
)
def test_other_texts_are_left_alone(
    client, workspace, customer, nps_survey, sms_path, text, days_ago
):
    if days_ago is not None:
        asked_by_sms(workspace, customer, days_ago=days_ago)
    assert reply(client, sms_path, "SMx", text).status_code == 200
    assert not Feedback.objects.exists()
    assert Event.objects.filter(profile=customer, name="SMS Message Received").count() == 1
