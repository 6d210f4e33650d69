"""Acting on answers as the workspace configures it: a detractor or a low
CSAT pauses marketing, enters the recovery journey and tells staff (email,
signed webhook) with the comment; a promoter enters the promoter journey."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.feedback import services
from engage.feedback.models import Feedback, FeedbackSettings
from engage.journeys.models import Enrollment
from engage.messaging import pauses
from engage.messaging.models import MarketingPause
from engage.profiles.models import Profile
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


def old_answers(customers, days_ago, score=3):
    return services.record_answers(
        [
            services.Answer(
                profile=customer,
                kind="nps",
                score=score,
                key=f"backfill:{customer.pk}-{days_ago}",
                source="api",
                answered_at=timezone.now() - timedelta(days=days_ago),
            )
            for customer in customers
        ]
    )


def test_a_backfill_of_last_years_answers_pauses_enrolls_and_tells_nobody(
    customer, acting, staff_hook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        old_answers([customer], days_ago=365)
        old_answers([customer], days_ago=200, score=10)

    assert Feedback.objects.filter(profile=customer).count() == 2
    assert not MarketingPause.objects.exists()
    assert not Enrollment.objects.exists()
    assert mail.outbox == [] and staff_hook.requests == []


def test_an_answer_given_days_ago_pauses_from_when_it_was_given(customer, acting):
    [(feedback, _)] = old_answers([customer], days_ago=10)

    pause = MarketingPause.objects.get(profile=customer)
    assert pause.started_at == feedback.answered_at
    assert pause.until == feedback.answered_at + timedelta(days=14)
    assert Enrollment.objects.get(profile=customer).journey == acting.recovery_journey


def test_a_batch_of_detractors_is_paused_in_one_write(workspace, acting):
    customers = [Profile.objects.create(workspace=workspace.workspace) for _ in range(6)]
    answers = [
        services.Answer(
            profile=customer,
            kind="nps",
            score=1,
            key=f"batch:{customer.pk}",
            source="api",
            answered_at=timezone.now() - timedelta(hours=n),
        )
        for n, customer in enumerate(customers)
    ]
    with CaptureQueriesContext(connection) as queries:
        services.record_answers(answers)

    pause_writes = [q for q in queries if MarketingPause._meta.db_table in q["sql"]]
    assert len(pause_writes) == 2  # one locking read, one insert
    in_force = pauses.in_force([c.pk for c in customers], timezone.now())
    assert set(in_force) == {c.pk for c in customers}
