"""Email and in-app surveys: one signed link per score, one click answers,
a follow-up page takes the comment; tampered, expired and out-of-scale links
are refused with a page that says why."""

from datetime import timedelta

import pytest
import time_machine

from engage.events.models import Event
from engage.feedback.models import Feedback
from engage.messaging import services
from engage.messaging.models import Message, MessageTemplate

from .helpers import links_in

pytestmark = pytest.mark.django_db


def survey_email(workspace, customer, **provenance) -> Message:
    template = MessageTemplate.objects.get(workspace=workspace.workspace, name="nps-email")
    return services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        category="service",
        template=template,
        send_now=False,
        **provenance,
    ).message


def test_one_click_answers_once_with_the_message_and_journey_that_asked(
    client, workspace, customer, nps_survey
):
    message = survey_email(
        workspace, customer, source=Message.JOURNEY, journey_id=7, enrollment_id=11
    )
    links = links_in(message.body)
    assert sorted(links) == list(range(11))
    assert message.subject == "How likely are you to recommend us?"

    # A mail scanner's GET records nothing; the page posts the score itself.
    page = client.get(links[9])
    assert page.status_code == 200 and b'method="post"' in page.content
    assert not Feedback.objects.exists()

    answered = client.post(links[9])
    assert answered.status_code == 302 and answered["Location"].endswith("/comment/")
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.score, feedback.category) == ("nps", 9, "promoter")
    assert (feedback.message_id, feedback.channel, feedback.source) == (message.pk, "email", "link")
    assert (feedback.journey_id, feedback.enrollment_id) == (7, 11)
    event = Event.objects.get(profile=customer, name="NPS Submitted")
    assert event.pk == feedback.event_id
    assert event.properties["score"] == 9 and event.properties["category"] == "promoter"
    assert event.properties["survey"] == "nps" and event.properties["message_id"] == message.pk

    # Another score of the same message changes nothing: one answer per link.
    client.post(links[2])
    assert Feedback.objects.get().score == 9

    comment_page = client.get(answered["Location"])
    assert b"What is the main reason for your score?" in comment_page.content
    thanks = client.post(answered["Location"], {"comment": "Fast delivery"})
    assert thanks.status_code == 200 and b"Fast delivery" in thanks.content
    assert Feedback.objects.get().comment == "Fast delivery"
    commented = Event.objects.get(profile=customer, name="Feedback Commented")
    assert commented.properties["comment"] == "Fast delivery"


def test_the_survey_page_offers_every_score_for_one_link(client, workspace, customer, nps_survey):
    message = survey_email(workspace, customer)
    token_path = links_in(message.body)[0].rstrip("/").rsplit("/", 1)[0] + "/"
    page = client.get(token_path)
    assert page.status_code == 200
    assert b"How likely are you to recommend us?" in page.content
    assert page.content.count(b'<button type="submit"') == 11


def _tampered(path: str) -> str:
    token, score = path.strip("/").split("/")[1:]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    return f"/f/{flipped}/{score}/"


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ("tampered", 404, b"This survey link is not valid."),
        ("expired", 410, b"This survey link has expired."),
        ("score_out_of_range", 400, b"score: must be a whole number from 0 to 10."),
        ("score_not_a_number", 400, b"score: must be a whole number from 0 to 10."),
    ],
    ids=["tampered", "expired", "score_out_of_range", "score_not_a_number"],
)
def test_bad_links_are_refused_and_record_nothing(
    client, workspace, customer, nps_survey, change, status, says
):
    path = links_in(survey_email(workspace, customer).body)[9]
    if change == "tampered":
        path = _tampered(path)
    elif change == "score_out_of_range":
        path = path.replace("/9/", "/11/")
    elif change == "score_not_a_number":
        path = path.replace("/9/", "/nine/")
    days = nps_survey.answer_days + 1 if change == "expired" else 0
    with time_machine.travel(timedelta(days=days)):
        response = client.post(path)
    assert response.status_code == status
    assert says in response.content
    assert not Feedback.objects.exists()


def test_a_comment_too_long_is_refused_naming_the_field(client, workspace, customer, nps_survey):
    path = links_in(survey_email(workspace, customer).body)[3]
    comment_path = client.post(path)["Location"]
    response = client.post(comment_path, {"comment": "x" * 5001})
    assert response.status_code == 400 and b"comment: at most 5000 characters" in response.content
    assert Feedback.objects.get().comment == ""


def test_only_the_surveys_own_templates_get_its_links(workspace, customer, nps_survey):
    """A message from another template could otherwise ask for an answer
    that no fatigue check counted and no message is tied to."""
    stray = MessageTemplate.objects.create(
        workspace=workspace.workspace,
        name="promo",
        channel="email",
        subject="Sale",
        body="Rate us: {{ survey.nps.url }}{% for l in survey.nps.links %} {{ l.url }}{% endfor %}",
    )
    message = services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        category="marketing",
        template=stray,
        send_now=False,
    ).message
    assert message.body == "Rate us: "

    inline = services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        category="marketing",
        content=services.rendering.Content(subject="Hi", body="Rate us: {{ survey.nps.url }}"),
        send_now=False,
    ).message
    assert inline.body == "Rate us: "

    assert len(links_in(survey_email(workspace, customer).body)) == 11
