"""POST /api/feedback: answers collected elsewhere; bad input names the field."""

import pytest

from engage.events.models import Event
from engage.feedback.models import Feedback

pytestmark = pytest.mark.django_db


def post(api, workspace, **body):
    return api("post", "/api/feedback", workspace.secret_key, body)


def test_an_answer_by_identifier_is_stored_once_with_its_event(
    api, workspace, customer, nps_survey
):
    body = {
        "identifier": {"email": "ada@example.com"},
        "kind": "nps",
        "score": 3,
        "comment": "Late again",
        "channel": "call_centre",
        "survey": "nps",
        "idempotency_key": "call-77",
    }
    response = post(api, workspace, **body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["profile_id"] == customer.pk
    assert (answer["score"], answer["category"], answer["source"]) == (3, "detractor", "api")
    assert (answer["survey"], answer["channel"]) == ("nps", "call_centre")
    event = Event.objects.get(profile=customer, name="NPS Submitted")
    assert answer["event_id"] == event.pk
    assert event.properties["comment"] == "Late again" and event.channel == "call_centre"

    again = post(api, workspace, **body)
    assert again.status_code == 200 and again.json()["id"] == answer["id"]
    assert Feedback.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "score", "category", "event"),
    [
        ("csat", 5, "satisfied", "CSAT Submitted"),
        ("effort", 2, "hard", "Effort Submitted"),
    ],
)
def test_csat_and_effort_answers(api, workspace, customer, kind, score, category, event):
    response = post(api, workspace, profile_id=customer.pk, kind=kind, score=score)
    assert response.status_code == 201, response.json()
    assert response.json()["category"] == category
    assert Event.objects.get(profile=customer, name=event).properties["score"] == score


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"profile_id": None}, "identifier", "give profile_id or one identifier"),
        ({"score": 11}, "score", "must be a whole number from 0 to 10 for nps"),
        ({"kind": "csat", "score": 0}, "score", "must be a whole number from 1 to 5 for csat"),
        ({"score": "9"}, "score", "must be an integer"),
        ({"kind": "ces"}, "kind", "must be one of nps, csat, effort, not 'ces' (a Customer"),
        ({"survey": "onboarding"}, "survey", "no survey named 'onboarding'"),
        ({"kind": "csat", "score": 4, "survey": "nps"}, "kind", "survey 'nps' asks nps, not csat"),
        ({"comment": "x" * 5001}, "comment", "Ensure this field has no more than 5000"),
        ({"answered_at": "2999-01-01T00:00:00Z"}, "answered_at", "must not be in the future"),
    ],
    ids=[
        "no_customer",
        "nps_out_of_range",
        "csat_out_of_range",
        "score_a_string",
        "unknown_kind",
        "unknown_survey",
        "survey_of_another_kind",
        "comment_too_long",
        "answered_in_the_future",
    ],
)
def test_bad_answers_are_refused_naming_the_field(
    api, workspace, customer, nps_survey, change, field, reason
):
    body = {"profile_id": customer.pk, "kind": "nps", "score": 9, **change}
    body = {name: value for name, value in body.items() if value is not None}
    response = post(api, workspace, **body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert errors[field][0].startswith(reason), errors
    assert not Feedback.objects.exists()


def test_a_customer_of_another_workspace_is_not_found(api, workspace, other_workspace, customer):
    response = post(api, other_workspace, profile_id=customer.pk, kind="nps", score=9)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("profile_id: no such customer")
