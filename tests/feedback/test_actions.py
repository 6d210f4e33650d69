"""Acting on answers as the workspace configures it: a detractor or a low
CSAT pauses marketing, enters the recovery journey and tells staff (email,
signed webhook) with the comment; a promoter enters the promoter journey."""

import hashlib
import hmac
import json

import pytest
from django.core import mail
from django.utils import timezone

from engage.feedback import services
from engage.feedback.models import FeedbackSettings
from engage.journeys.models import Enrollment
from engage.messaging import pauses
from tests.channels.providers import Receiver
from tests.journeys.factories import live_journey

pytestmark = pytest.mark.django_db

WAIT = {
    "trigger": {"event": "Never Happens"},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}


@pytest.fixture
def staff_hook(settings):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def acting(workspace, staff_hook):
    ws = workspace.workspace
    return FeedbackSettings.objects.create(
        workspace=ws,
        pause_days=14,
        recovery_journey=live_journey(ws, WAIT, name="recovery"),
        promoter_journey=live_journey(ws, WAIT, name="referral"),
        notify_email="care@shop.example",
        notify_webhook_url=f"{staff_hook.url}/feedback",
        notify_webhook_secret="s3cret",
    )


def answer(customer, kind, score, comment=""):
    return services.record_answer(
        services.Answer(
            profile=customer,
            kind=kind,
            score=score,
            comment=comment,
            key=f"api:{kind}-{score}",
            source="api",
            channel="sms",
        )
    )[0]


def test_a_detractor_is_paused_recovered_and_reported_to_staff(
    customer, acting, staff_hook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feedback = answer(customer, "nps", 4, "Parcel arrived broken")

    pause = pauses.in_force([customer.pk], timezone.now())[customer.pk]
    assert pause.reason == "detractor_pause"
    assert pause.detail == "NPS 4 (detractor): Parcel arrived broken"
    assert 13 < (pause.until - timezone.now()).days + 1 <= 14

    recovery = Enrollment.objects.get(profile=customer)
    assert recovery.journey == acting.recovery_journey
    assert recovery.trigger_event_id == feedback.event_id

    [email] = mail.outbox
    assert email.to == ["care@shop.example"] and email.subject == "Feedback: NPS 4 (detractor)"
    assert "comment: Parcel arrived broken" in email.body

    [request] = staff_hook.requests
    body = json.loads(request.body)
    assert (body["score"], body["comment"]) == (4, "Parcel arrived broken")
    timestamp = request.headers["x-engage-signature"].split(",")[0].removeprefix("t=")
    expected = hmac.new(b"s3cret", f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert request.headers["x-engage-signature"] == f"t={timestamp},v1={expected.hexdigest()}"


def test_a_low_csat_is_acted_on_like_a_detractor(customer, acting):
    answer(customer, "csat", 2)
    assert pauses.in_force([customer.pk], timezone.now())[customer.pk].reason == "detractor_pause"


@pytest.mark.parametrize(
    ("kind", "score", "journey"),
    [("nps", 10, "referral"), ("nps", 7, None), ("csat", 3, None), ("effort", 1, None)],
    ids=["promoter", "passive", "neutral_csat", "hard_effort"],
)
def test_other_answers_pause_nothing(customer, acting, kind, score, journey):
    answer(customer, kind, score)
    assert pauses.in_force([customer.pk], timezone.now()) == {}
    entered = Enrollment.objects.filter(profile=customer).values_list("journey__name", flat=True)
    assert list(entered) == ([journey] if journey else [])
    assert mail.outbox == []


def test_a_workspace_without_settings_pauses_detractors_for_30_days(customer):
    answer(customer, "nps", 0)
    pause = pauses.in_force([customer.pk], timezone.now())[customer.pk]
    assert (pause.until - timezone.now()).days == 29
