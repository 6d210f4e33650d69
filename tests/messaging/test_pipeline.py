import datetime as dt

import pytest
from django.utils import timezone

from engage.events.models import Event
from engage.messaging import sending, services
from engage.messaging.models import Message, MessageDecision, MessageTemplate
from engage.messaging.rendering import Content, TemplateError
from engage.profiles.models import Profile

from .helpers import queue_email

pytestmark = pytest.mark.django_db


def test_a_message_is_rendered_sent_over_smtp_and_logged_on_the_timeline(
    workspace, email_channel, customer, smtp_server
):
    message = queue_email(workspace.workspace, customer, html="<p>Hi {{ traits.first_name }}</p>")

    assert sending.send_message(message.pk) == Message.SENT

    message.refresh_from_db()
    [received] = smtp_server.messages
    assert received["to"] == ["ada@example.com"]
    assert received["mail"]["Subject"] == "Hello Ada"
    assert received["mail"]["Message-ID"] == message.provider_message_id
    assert "Hi Ada" in received["mail"].get_body(("plain",)).get_content()
    assert message.attempts == 1 and message.address == "ada@example.com"
    assert Event.objects.filter(profile=customer, name="Email Sent").count() == 1


def test_the_same_idempotency_key_returns_the_same_message_and_sends_once(
    workspace, email_channel, customer, smtp_server
):
    first = queue_email(workspace.workspace, customer, key="order-42-confirmation")
    again = queue_email(workspace.workspace, customer, key="order-42-confirmation")
    assert again.pk == first.pk

    sending.send_message(first.pk)
    sending.send_message(again.pk)

    assert len(smtp_server.messages) == 1
    assert Message.objects.filter(workspace=workspace.workspace).count() == 1


def test_a_transient_refusal_is_retried_with_backoff_then_sent(
    workspace, email_channel, customer, smtp_server
):
    smtp_server.reply = "451 4.3.0 Try again later"
    message = queue_email(workspace.workspace, customer)

    assert sending.send_message(message.pk) == Message.QUEUED
    message.refresh_from_db()
    assert message.next_attempt_at > timezone.now() + dt.timedelta(seconds=20)
    retry = MessageDecision.objects.get(message=message)
    assert (retry.action, retry.reason) == ("retry", "transient_error")
    assert "451" in message.error

    assert sending.send_message(message.pk) is None, "not due yet"
    smtp_server.reply = None
    assert sending.send_message(message.pk, now=message.next_attempt_at) == Message.SENT
    assert len(smtp_server.messages) == 1


def test_backoff_doubles_and_gives_up_after_the_last_attempt(
    settings, workspace, email_channel, customer, smtp_server
):
    settings.ENGAGE_SEND_MAX_ATTEMPTS = 3
    smtp_server.reply = "421 4.7.0 Busy"
    message = queue_email(workspace.workspace, customer)
    waits = []
    for _ in range(3):
        before = timezone.now()
        sending.send_message(message.pk, now=message.next_attempt_at)
        message.refresh_from_db()
        if message.status == Message.QUEUED:
            waits.append((message.next_attempt_at - before).total_seconds())

    assert message.status == Message.FAILED
    assert message.attempts == 3
    assert len(waits) == 2 and 55 <= waits[1] <= 2 * waits[0] + 5


def test_a_permanent_refusal_fails_without_retry(workspace, email_channel, customer, smtp_server):
    smtp_server.reply = "550 5.1.1 No such user"
    message = queue_email(workspace.workspace, customer)

    assert sending.send_message(message.pk) == Message.FAILED

    message.refresh_from_db()
    assert "550" in message.error and message.next_attempt_at is None
    assert sending.send_message(message.pk, now=timezone.now() + dt.timedelta(days=1)) is None


def test_a_customer_without_an_email_address_is_skipped_not_failed(
    workspace, email_channel, smtp_server
):
    nobody = Profile.objects.create(workspace=workspace.workspace, traits={"first_name": "Bo"})
    message = queue_email(workspace.workspace, nobody)

    sending.send_message(message.pk)

    message.refresh_from_db()
    assert message.status == Message.SKIPPED
    assert MessageDecision.objects.get(message=message).reason == "no_address"
    assert smtp_server.messages == []


def test_a_channel_not_enabled_for_the_workspace_skips_the_message(
    workspace, customer, smtp_server
):
    message = queue_email(workspace.workspace, customer)

    sending.send_message(message.pk)

    assert MessageDecision.objects.get(message=message).reason == "channel_disabled"


def test_a_channel_whose_stored_settings_no_longer_validate_is_skipped_not_crashed(
    workspace, email_channel, customer, smtp_server
):
    email_channel.settings["smtp_port"] = "not a port"
    email_channel.save()
    message = queue_email(workspace.workspace, customer)

    assert sending.send_message(message.pk) is None

    decision = MessageDecision.objects.get(message=message)
    assert decision.reason == "channel_disabled" and "invalid" in decision.detail
    assert smtp_server.messages == []


def test_templates_render_traits_identities_and_event_with_defaults_and_locales(
    workspace, customer
):
    customer.locale = "fr-FR"
    customer.save()
    template = MessageTemplate.objects.create(
        workspace=workspace.workspace,
        name="cart",
        channel="email",
        subject="Your cart",
        body="Hi {{ traits.nickname | default: traits.first_name }}",
        variants={
            "fr": {
                "subject": "Votre panier, {{ traits.first_name }}",
                "body": "{{ event.properties.item }} for {{ profile.identities.email }}, "
                "{{ traits.city }} {{ traits.missing | default: 'ami' }}",
            }
        },
    )
    event = Event(name="Cart Abandoned", properties={"item": "Boots"})

    message = services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        category="marketing",
        template=template,
        event=event,
        defaults={"city": "Paris"},
        send_now=False,
    ).message

    assert message.subject == "Votre panier, Ada"
    assert message.body == "Boots for ada@example.com, Paris ami"
    assert message.locale == "fr-FR"


def test_templates_are_sandboxed_and_errors_name_the_field(workspace, customer):
    with pytest.raises(TemplateError, match=r"^body: loop iteration limit"):
        queue_email(workspace.workspace, customer, body="{% for i in (1..1000000) %}x{% endfor %}")
    with pytest.raises(TemplateError, match=r"^subject:"):
        queue_email(workspace.workspace, customer, subject="{% if %}")
    html = queue_email(workspace.workspace, customer, html="<p>{{ traits.first_name }}</p>")
    customer.traits["first_name"] = "<script>x</script>"
    customer.save()
    escaped = queue_email(workspace.workspace, customer, html="<p>{{ traits.first_name }}</p>")
    assert html.html == "<p>Ada</p>"
    assert escaped.html == "<p>&lt;script&gt;x&lt;/script&gt;</p>"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("category", {"category": "spam"}),
        ("channel", {"channel": "pigeon"}),
        ("template", {"content": None}),
        ("body", {"content": Content(subject="only a subject")}),
    ],
)
def test_bad_send_requests_name_the_field(workspace, customer, field, kwargs):
    args = {
        "workspace": workspace.workspace,
        "profile": customer,
        "channel": "email",
        "category": "transactional",
        "content": Content(body="hi"),
        "send_now": False,
        **kwargs,
    }
    with pytest.raises(services.MessageInputError) as error:
        services.create_message(**args)
    assert error.value.field == field


def test_the_periodic_sweep_sends_due_retries_and_holds_lost_sends(
    workspace, email_channel, customer, smtp_server
):
    from engage.messaging.tasks import sweep_messages

    queue_email(workspace.workspace, customer, subject="due")
    later = queue_email(workspace.workspace, customer, subject="later")
    lost = queue_email(workspace.workspace, customer, subject="lost")
    Message.objects.filter(pk=later.pk).update(
        status=Message.DEFERRED, next_attempt_at=timezone.now() + dt.timedelta(hours=1)
    )
    Message.objects.filter(pk=lost.pk).update(
        status=Message.SENDING, sending_at=timezone.now() - dt.timedelta(hours=1)
    )

    assert sweep_messages() == 1

    statuses = dict(Message.objects.values_list("subject", "status"))
    assert statuses == {"due": "sent", "later": "deferred", "lost": "unknown"}
    assert [m["mail"]["Subject"] for m in smtp_server.messages] == ["due"]


def test_a_server_without_starttls_fails_the_message_instead_of_holding_it(
    workspace, email_channel, customer, smtp_server
):
    email_channel.settings["smtp_use_tls"] = True
    email_channel.save()
    message = queue_email(workspace.workspace, customer)

    # Nothing was handed over, so it is not an unknown outcome held for review.
    assert sending.send_message(message.pk) == Message.FAILED

    message.refresh_from_db()
    assert "STARTTLS" in message.error
    assert smtp_server.messages == []
