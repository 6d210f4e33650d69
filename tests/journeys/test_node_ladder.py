import base64
import datetime as dt
import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.events.models import Event
from engage.journeys import engine
from engage.journeys.models import Enrollment
from engage.journeys.validation import InvalidDefinition, validate_definition
from engage.messaging import timeline
from engage.messaging.consent import record_consent
from engage.messaging.models import Consent, Message, MessageDecision, MessageTemplate
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile
from engage.scoring.models import Score
from tests.messaging import conftest as messaging

from .factories import live_journey

pytestmark = pytest.mark.django_db

smtp_server = messaging.smtp_server
email_channel = messaging.email_channel

HOURS_4 = dt.timedelta(hours=4)
numbers = itertools.count()
DAY = dt.timedelta(days=1)


def ladder(**node):
    return {
        "trigger": {"manual": True},
        "start": "nudge",
        "nodes": {
            "nudge": {
                "type": "ladder",
                "category": "marketing",
                "rungs": [
                    {"channel": "inapp", "template": "cart-inapp", "window": {"hours": 4}},
                    {
                        "channel": "push",
                        "template": {"push": "cart-push", "webpush": "cart-web"},
                        "window": {"hours": 4},
                    },
                    {"channel": "email", "template": "cart-email", "window": {"days": 1}},
                ],
                "next": {"responded": "thanks", "exhausted": "done"},
                **node,
            },
            "thanks": {"type": "exit"},
            "done": {"type": "exit"},
        },
    }


@pytest.fixture
def ws(workspace, email_channel):
    ws = workspace.workspace
    configure_plugin(workspace=ws, plugin_id="inapp", settings={})
    for name, channel in (
        ("cart-inapp", "inapp"),
        ("cart-push", "push"),
        ("cart-web", "webpush"),
        ("cart-email", "email"),
    ):
        MessageTemplate.objects.create(
            workspace=ws, name=name, channel=channel, subject="Your cart", body="Still there?"
        )
    return ws


@pytest.fixture
def webpush(ws):
    number = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    key = base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()
    configure_plugin(
        workspace=ws,
        plugin_id="webpush",
        settings={"vapid_private_key": key, "vapid_subject": "mailto:ops@acme.test"},
    )


def customer(ws, *, email=True, user_id=False, web_push=False) -> Profile:
    traits = {}
    if web_push:
        traits["web_push_subscription"] = {
            "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
            "keys": {"p256dh": "k", "auth": "a"},
        }
    profile = Profile.objects.create(workspace=ws, traits=traits)
    n = next(numbers)
    for kind, wanted, value in (
        ("email", email, f"c{n}@example.com"),
        ("user_id", user_id, f"u-{n}"),
    ):
        if wanted:
            Identity.objects.create(workspace=ws, profile=profile, kind=kind, value=value)
    return profile


def start(ws, profiles, now, **node) -> list[Enrollment]:
    journey = live_journey(ws, ladder(**node))
    enrollments = [
        Enrollment.objects.create(
            workspace=ws,
            journey=journey,
            version=journey.live_version,
            profile=profile,
            node_id="nudge",
            next_run_at=now,
            entered_at=now,
        )
        for profile in profiles
    ]
    engine.advance(now=now)
    return enrollments


def steps(enrollment):
    rows = MessageDecision.objects.filter(enrollment_id=enrollment.pk, source="journey")
    return [(d.action, d.reason, d.channel) for d in rows.order_by("id")]


def test_unreachable_rungs_are_skipped_with_their_reason_and_the_first_reachable_sends(ws):
    now = timezone.now()
    [enrollment] = start(ws, [customer(ws)], now)

    assert steps(enrollment) == [
        ("skip", "no_address", "inapp"),
        ("skip", "channel_disabled", "push"),
        ("send", "queued", "email"),
        ("wait", "response_window", ""),
    ]
    skip = MessageDecision.objects.filter(enrollment_id=enrollment.pk, action="skip").order_by(
        "id"
    )[0]
    assert skip.detail == "rung 1: no user_id known"
    message = Message.objects.get(enrollment_id=enrollment.pk)
    assert (message.channel, message.journey_node_id, message.source) == (
        "email",
        "nudge",
        "journey",
    )
    enrollment.refresh_from_db()
    assert enrollment.waiting and enrollment.waiting_for == "@response"
    assert enrollment.next_run_at == now + DAY
    assert enrollment.state["nudge"]["message"] == message.pk


def test_an_unanswered_window_escalates_to_the_next_rung_then_the_ladder_is_exhausted(ws):
    now = timezone.now()
    [enrollment] = start(ws, [customer(ws, user_id=True)], now)
    inapp = Message.objects.get(enrollment_id=enrollment.pk)
    assert inapp.channel == "inapp"

    assert engine.advance(now=now + HOURS_4) == 1

    email = Message.objects.get(enrollment_id=enrollment.pk, channel="email")
    assert email.idempotency_key.endswith(":rung2")
    inapp.refresh_from_db()
    assert inapp.status == Message.CANCELLED, "not sent on top of the next rung"
    assert steps(enrollment)[-4:] == [
        ("wake", "timeout", ""),
        ("skip", "channel_disabled", "push"),
        ("send", "queued", "email"),
        ("wait", "response_window", ""),
    ]

    engine.advance(now=now + HOURS_4 + DAY)

    enrollment.refresh_from_db()
    assert enrollment.end_reason == Enrollment.COMPLETED
    exit_row = MessageDecision.objects.get(enrollment_id=enrollment.pk, action="exit")
    assert exit_row.journey_node_id == "done"
    assert Message.objects.filter(enrollment_id=enrollment.pk).count() == 2
    email.refresh_from_db()
    assert email.status == Message.QUEUED, "the last rung's message has nothing to give way to"


def test_a_response_event_on_any_channel_stops_the_ladder(ws):
    now = timezone.now()
    profile = customer(ws, user_id=True)
    [enrollment] = start(ws, [profile], now)
    Event.objects.create(
        workspace=ws,
        message_id="open-1",
        type="track",
        name="Email Opened",
        timestamp=now + dt.timedelta(hours=1),
        received_at=now + dt.timedelta(hours=1),
        profile=profile,
    )

    engine.advance(now=now + HOURS_4)

    enrollment.refresh_from_db()
    assert enrollment.end_reason == Enrollment.COMPLETED
    assert MessageDecision.objects.get(
        enrollment_id=enrollment.pk, action="exit"
    ).journey_node_id == ("thanks")
    assert not Message.objects.filter(enrollment_id=enrollment.pk, channel="email").exists()


def test_a_response_recorded_on_another_channel_wakes_the_ladder_which_cancels_what_is_queued(
    ws, django_capture_on_commit_callbacks
):
    now = timezone.now()
    profile = customer(ws, user_id=True)
    [enrollment] = start(ws, [profile], now)  # its in-app message not handed to a worker yet

    with django_capture_on_commit_callbacks(execute=True):
        timeline.record_event(
            profile=profile, name="Email Clicked", key="click-1", properties={}, channel="email"
        )
    engine.advance()

    message = Message.objects.get(enrollment_id=enrollment.pk)
    assert message.status == Message.CANCELLED
    enrollment.refresh_from_db()
    assert enrollment.end_reason == Enrollment.COMPLETED
    clicked = Event.objects.get(profile=profile, name="Email Clicked")
    wake = MessageDecision.objects.get(enrollment_id=enrollment.pk, action="wake")
    assert (wake.reason, wake.detail) == ("event", str(clicked.pk))
    assert MessageDecision.objects.get(
        enrollment_id=enrollment.pk, action="exit"
    ).journey_node_id == ("thanks")


def test_an_event_that_is_not_a_response_does_not_wake_the_ladder(
    ws, django_capture_on_commit_callbacks
):
    now = timezone.now()
    profile = customer(ws, user_id=True)
    [enrollment] = start(ws, [profile], now)

    with django_capture_on_commit_callbacks(execute=True):
        timeline.record_event(
            profile=profile, name="Email Delivered", key="delivered-1", properties={}
        )
    engine.advance()

    enrollment.refresh_from_db()
    assert enrollment.waiting and enrollment.wake_event_id is None
    assert enrollment.next_run_at == now + HOURS_4


def test_an_opt_out_skips_the_rung_and_push_means_web_push_for_a_browser_subscriber(ws, webpush):
    profile = customer(ws, user_id=True, web_push=True)
    record_consent(
        profile=profile, status=Consent.OPTED_OUT, source="api", channel="inapp", topic="marketing"
    )

    [enrollment] = start(ws, [profile], timezone.now())

    assert steps(enrollment)[:2] == [
        ("skip", "opted_out", "inapp"),
        ("send", "queued", "webpush"),
    ]
    message = Message.objects.get(enrollment_id=enrollment.pk)
    assert (message.channel, message.template.name) == ("webpush", "cart-web")


def test_preferred_order_starts_from_the_responsiveness_score_and_falls_back_along_the_list(ws):
    now = timezone.now()
    profile = customer(ws, user_id=True)
    Score.objects.create(
        workspace=ws,
        profile=profile,
        model="responsiveness",
        value=0.4,
        cell="email",
        computed_at=now,
    )

    [enrollment] = start(ws, [profile], now, order="preferred")
    assert Message.objects.get(enrollment_id=enrollment.pk).channel == "email"

    engine.advance(now=now + DAY)

    later = Message.objects.filter(enrollment_id=enrollment.pk).order_by("id").last()
    assert later.channel == "inapp"


def test_a_customer_reachable_on_no_rung_leaves_exhausted_at_once(ws):
    [enrollment] = start(ws, [customer(ws, email=False)], timezone.now())

    enrollment.refresh_from_db()
    assert enrollment.ended_at is not None
    assert [s[:2] for s in steps(enrollment)] == [
        ("skip", "no_address"),
        ("skip", "channel_disabled"),
        ("skip", "no_address"),
        ("exit", "completed"),
    ]


def test_a_batch_costs_the_same_queries_for_two_customers_or_twenty(ws):
    def queries(n: int) -> int:
        profiles = [customer(ws, user_id=i % 2 == 0) for i in range(n)]
        journey_name = f"ladder-{n}"
        journey = live_journey(ws, ladder(), name=journey_name)
        now = timezone.now()
        Enrollment.objects.bulk_create(
            Enrollment(
                workspace=ws,
                journey=journey,
                version=journey.live_version,
                profile=p,
                origin_profile_id=p.pk,
                node_id="nudge",
                next_run_at=now,
                entered_at=now,
            )
            for p in profiles
        )
        with CaptureQueriesContext(connection) as captured:
            assert engine.advance(now=now) == n
        return len(captured)

    assert queries(2) == queries(20)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"rungs": []}, "definition.nodes.nudge.rungs: must be a list of 1 to 10 rungs"),
        ({"order": "random"}, "definition.nodes.nudge.order: must be one of listed, preferred"),
        ({"category": "spam"}, "definition.nodes.nudge.category: must be one of"),
        (
            {"rungs": [{"channel": "email", "template": "cart-email"}]},
            "definition.nodes.nudge.rungs[0].window: is required",
        ),
        (
            {"rungs": [{"channel": "email", "template": "cart-email", "window": {"hours": 0}}]},
            "definition.nodes.nudge.rungs[0].window: must be longer than zero",
        ),
        (
            {"rungs": [{"channel": "email", "template": "cart-push", "window": {"hours": 1}}]},
            "definition.nodes.nudge.rungs[0].template: template 'cart-push' is for push",
        ),
        (
            {"rungs": [{"channel": "push", "template": {"sms": "x"}, "window": {"hours": 1}}]},
            "definition.nodes.nudge.rungs[0].template: must map push and/or webpush",
        ),
        (
            {
                "rungs": [
                    {
                        "channel": "push",
                        "template": {"webpush": "cart-push"},
                        "window": {"hours": 1},
                    }
                ]
            },
            "definition.nodes.nudge.rungs[0].template.webpush: template 'cart-push' is for push",
        ),
        (
            {"rungs": [{"channel": "pigeon", "template": "cart-email", "window": {"hours": 1}}]},
            "definition.nodes.nudge.rungs[0].channel: channel not installed",
        ),
    ],
    ids=[
        "no-rungs",
        "unknown-order",
        "bad-category",
        "no-window",
        "zero-window",
        "template-of-another-channel",
        "push-map-other-channel",
        "push-map-wrong-template",
        "channel-not-installed",
    ],
)
def test_a_bad_ladder_is_refused_naming_the_field(ws, change, error):
    with pytest.raises(InvalidDefinition) as refused:
        validate_definition(ladder(**change), workspace=ws)

    assert any(e.startswith(error) for e in refused.value.errors), refused.value.errors


def test_a_valid_ladder_passes(ws):
    validate_definition(ladder(order="preferred", topic="cart", priority=3), workspace=ws)
