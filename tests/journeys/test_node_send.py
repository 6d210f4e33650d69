import pytest
from django.utils import timezone

from engage.events.models import Event
from engage.journeys import engine
from engage.journeys.models import Enrollment
from engage.journeys.validation import InvalidDefinition, validate_definition
from engage.messaging.consent import record_consent
from engage.messaging.models import Consent, Message, MessageDecision, MessageTemplate
from engage.profiles.models import Profile
from tests.messaging import conftest as messaging

from .factories import live_journey

pytestmark = pytest.mark.django_db

# The loopback SMTP server, the email channel sending to it, and a customer
# with an email address, as the messaging tests have them.
smtp_server = messaging.smtp_server
email_channel = messaging.email_channel
customer = messaging.customer

WELCOME = {
    "trigger": {"event": "Signed Up"},
    "start": "hello",
    "nodes": {
        "hello": {
            "type": "send",
            "channel": "email",
            "template": "welcome",
            "category": "marketing",
            "topic": "news",
            "priority": 5,
            "next": "done",
        },
        "done": {"type": "exit"},
    },
}


@pytest.fixture
def welcome(workspace):
    return MessageTemplate.objects.create(
        workspace=workspace.workspace,
        name="welcome",
        channel="email",
        subject="Welcome {{ traits.first_name }}",
        body="Your {{ event.properties.plan | default: 'free' }} plan is ready.",
    )


def enroll(journey, profile, **fields):
    now = timezone.now()
    return Enrollment.objects.create(
        workspace=journey.workspace,
        journey=journey,
        version=journey.live_version,
        profile=profile,
        node_id=journey.live_version.definition["start"],
        next_run_at=now,
        entered_at=now,
        **fields,
    )


def ledger(enrollment):
    return list(
        MessageDecision.objects.filter(enrollment_id=enrollment.pk)
        .order_by("id")
        .values_list("action", "reason", "journey_node_id")
    )


def test_a_send_node_mails_once_with_its_provenance_and_the_ledger_says_so(
    workspace, email_channel, welcome, customer, smtp_server, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    journey = live_journey(ws, WELCOME)
    signed_up = Event.objects.create(
        workspace=ws,
        message_id="m-1",
        type="track",
        name="Signed Up",
        timestamp=timezone.now(),
        received_at=timezone.now(),
        properties={"plan": "pro"},
        profile=customer,
    )
    enrollment = enroll(journey, customer, trigger_event_id=signed_up.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert engine.advance() == 1

    [received] = smtp_server.messages
    assert received["to"] == ["ada@example.com"]
    assert received["mail"]["Subject"] == "Welcome Ada"
    assert "Your pro plan is ready." in received["mail"].get_body(("plain",)).get_content()
    message = Message.objects.get(profile=customer)
    assert message.status == Message.SENT
    assert (message.source, message.journey_version) == ("journey", 1)
    assert message.journey_id == journey.pk
    assert (message.journey_node_id, message.enrollment_id) == ("hello", enrollment.pk)
    assert (message.category, message.topic, message.priority) == ("marketing", "news", 5)
    queued = MessageDecision.objects.get(enrollment_id=enrollment.pk, reason="queued")
    assert queued.message_id == message.pk and queued.channel == "email"
    assert ledger(enrollment)[0] == ("send", "queued", "hello")
    assert ("exit", "completed", "done") in ledger(enrollment)
    enrollment.refresh_from_db()
    assert enrollment.end_reason == Enrollment.COMPLETED


def test_the_step_run_again_finds_its_message_and_sends_nothing_twice(
    workspace, email_channel, welcome, customer, smtp_server, django_capture_on_commit_callbacks
):
    journey = live_journey(workspace.workspace, WELCOME)
    enrollment = enroll(journey, customer)
    with django_capture_on_commit_callbacks(execute=True):
        engine.advance()

    # As a worker that died after the step but before its effects were
    # recorded leaves it: at the send node again, with the same visit.
    Enrollment.objects.filter(pk=enrollment.pk).update(
        node_id="hello", visit=0, ended_at=None, end_reason="", next_run_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert engine.advance() == 1

    assert len(smtp_server.messages) == 1
    assert Message.objects.filter(enrollment_id=enrollment.pk).count() == 1
    sends = MessageDecision.objects.filter(enrollment_id=enrollment.pk, reason="queued")
    assert sends.count() == 2 and len({d.message_id for d in sends}) == 1


def test_a_customer_without_an_address_is_skipped_and_goes_on(
    workspace, email_channel, welcome, smtp_server, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    nobody = Profile.objects.create(workspace=ws, traits={"first_name": "Bo"})
    journey = live_journey(ws, WELCOME)
    enrollment = enroll(journey, nobody)

    with django_capture_on_commit_callbacks(execute=True):
        engine.advance()

    assert smtp_server.messages == []
    assert not Message.objects.filter(profile=nobody).exists()
    skip = MessageDecision.objects.get(enrollment_id=enrollment.pk, action="skip")
    assert (skip.reason, skip.channel, skip.message_id) == ("no_address", "email", None)
    assert "email" in skip.detail
    assert ledger(enrollment)[-1] == ("exit", "completed", "done")


def test_a_channel_disabled_after_publishing_skips_with_that_reason(
    workspace, welcome, customer, django_capture_on_commit_callbacks
):
    journey = live_journey(workspace.workspace, WELCOME)
    enrollment = enroll(journey, customer)

    with django_capture_on_commit_callbacks(execute=True):
        engine.advance()

    skip = MessageDecision.objects.get(enrollment_id=enrollment.pk, action="skip")
    assert skip.reason == "channel_disabled"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {"template": "nope"},
            "definition.nodes.hello.template: no template named 'nope' in this workspace",
        ),
        ({"template": "sms-hi"}, "definition.nodes.hello.template: template 'sms-hi' is for sms"),
        ({"channel": "pigeon"}, "definition.nodes.hello.channel: channel not installed"),
        ({"category": "spam"}, "definition.nodes.hello.category: must be one of transactional"),
        ({"priority": 101}, "definition.nodes.hello.priority: must be an integer from -100 to 100"),
        ({"topic": ""}, "definition.nodes.hello.topic: must be a non-empty string"),
        ({"colour": "red"}, "definition.nodes.hello.colour: unknown field"),
        ({"template": None}, "definition.nodes.hello.template: must be a non-empty string"),
        ({"channel": "sms"}, "definition.nodes.hello.channel: not enabled in this workspace"),
    ],
    ids=[
        "missing-template",
        "template-of-another-channel",
        "channel-not-installed",
        "bad-category",
        "priority-out-of-range",
        "empty-topic",
        "unknown-field",
        "template-not-a-name",
        "channel-not-enabled",
    ],
)
def test_a_bad_send_node_is_refused_naming_the_field(
    workspace, email_channel, welcome, change, error
):
    ws = workspace.workspace
    MessageTemplate.objects.create(workspace=ws, name="sms-hi", channel="sms", body="Hi")
    definition = {**WELCOME, "nodes": {**WELCOME["nodes"]}}
    definition["nodes"]["hello"] = {**WELCOME["nodes"]["hello"], **change}

    with pytest.raises(InvalidDefinition) as refused:
        validate_definition(definition, workspace=ws)

    assert any(e.startswith(error) for e in refused.value.errors), refused.value.errors


def test_a_missing_field_is_named(workspace, email_channel, welcome):
    definition = {**WELCOME, "nodes": {**WELCOME["nodes"]}}
    definition["nodes"]["hello"] = {"type": "send", "channel": "email", "next": "done"}

    with pytest.raises(InvalidDefinition) as refused:
        validate_definition(definition, workspace=workspace.workspace)

    assert "definition.nodes.hello.template: is required" in refused.value.errors
    assert "definition.nodes.hello.category: is required" in refused.value.errors


def test_a_valid_send_node_passes(workspace, email_channel, welcome):
    validate_definition(WELCOME, workspace=workspace.workspace)


def test_policy_still_judges_the_send_and_its_skip_lands_in_the_journeys_ledger(
    workspace, email_channel, welcome, customer, smtp_server, django_capture_on_commit_callbacks
):
    record_consent(profile=customer, status=Consent.OPTED_OUT, source="api", channel="email")
    journey = live_journey(workspace.workspace, WELCOME)
    enrollment = enroll(journey, customer)

    with django_capture_on_commit_callbacks(execute=True):
        engine.advance()

    assert smtp_server.messages == []
    message = Message.objects.get(enrollment_id=enrollment.pk)
    assert message.status == Message.SKIPPED
    skip = MessageDecision.objects.get(message=message, action="skip")
    assert (skip.reason, skip.source, skip.journey_node_id) == ("opted_out", "journey", "hello")
    assert skip.enrollment_id == enrollment.pk
