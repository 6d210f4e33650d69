"""The example third-party package (examples/engage-telegram), installed in
the test environment like any plugin, working end to end."""

import json
from importlib.metadata import entry_points

import pytest
from django.core.management import call_command

from engage.events.models import Event
from engage.messaging import sending, services
from engage.messaging.models import Consent, Message, MessageDecision
from engage.messaging.rendering import Content
from engage.plugins.manager import get_channel_class
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile

from .conftest import BOT_TOKEN

pytestmark = pytest.mark.django_db
CHAT_ID = "987654321"
WEBHOOK_SECRET = "hook-secret-1"


@pytest.fixture
def telegram(workspace, bot_api):
    return configure_plugin(
        workspace=workspace.workspace,
        plugin_id="telegram",
        settings={
            "bot_token": BOT_TOKEN,
            "webhook_secret": WEBHOOK_SECRET,
            "api_base": bot_api.url,
        },
    )


@pytest.fixture
def customer(workspace):
    profile = Profile.objects.create(workspace=workspace.workspace, traits={"first_name": "Ada"})
    Identity.objects.create(
        workspace=workspace.workspace, profile=profile, kind="telegram", value=CHAT_ID
    )
    return profile


def queue(workspace, profile, body="Hi {{ traits.first_name }}, your order shipped"):
    return services.create_message(
        workspace=workspace.workspace,
        profile=profile,
        channel="telegram",
        category="marketing",
        content=Content(body=body),
        send_now=False,
    ).message


def test_the_package_is_found_through_its_entry_point_only():
    [entry] = [e for e in entry_points(group="engage.plugins") if e.name == "telegram"]
    assert entry.dist.name == "engage-telegram"
    assert get_channel_class("telegram").__module__ == "engage_telegram"


def test_engage_plugins_lists_it_with_its_distribution_and_hooks(capsys):
    call_command("engage_plugins")
    out = capsys.readouterr().out
    assert "telegram  [engage-telegram 0.1.0]" in out
    assert "engage_channels: telegram" in out
    assert "email  [engage " in out


def test_enabled_for_a_workspace_it_sends_in_the_bot_api_format(
    workspace, telegram, customer, bot_api
):
    message = queue(workspace, customer)

    assert sending.send_message(message.pk) == Message.SENT

    [request] = bot_api.requests
    assert request["path"] == f"/bot{BOT_TOKEN}/sendMessage"
    assert json.loads(request["body"]) == {
        "chat_id": CHAT_ID,
        "text": "Hi Ada, your order shipped",
    }
    message.refresh_from_db()
    assert message.provider_message_id == f"{CHAT_ID}:1"
    assert Event.objects.filter(profile=customer, name="Telegram Sent").exists()


def test_flood_control_is_retried_after_the_wait_telegram_asks_for(
    workspace, telegram, customer, bot_api
):
    bot_api.next_error = (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 120",
            "parameters": {"retry_after": 120},
        },
    )
    message = queue(workspace, customer)

    assert sending.send_message(message.pk) == Message.QUEUED
    message.refresh_from_db()
    retry = MessageDecision.objects.get(message=message)
    assert (retry.until - message.sending_at).total_seconds() >= 120
    assert sending.send_message(message.pk, now=message.next_attempt_at) == Message.SENT


def test_a_blocked_bot_fails_the_message_without_retry(workspace, telegram, customer, bot_api):
    bot_api.next_error = (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    message = queue(workspace, customer)
    assert sending.send_message(message.pk) == Message.FAILED
    message.refresh_from_db()
    assert "blocked by the user" in message.error


def test_updates_reach_the_timeline_and_stop_opts_out(client, workspace, telegram, customer):
    def update(update_id, text, secret=WEBHOOK_SECRET):
        body = {
            "update_id": update_id,
            "message": {
                "message_id": 5,
                "date": 1735689600,
                "chat": {"id": int(CHAT_ID), "type": "private"},
                "text": text,
            },
        }
        return client.post(
            f"/hooks/{workspace.workspace.pk}/telegram/",
            body,
            content_type="application/json",
            HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret,
        )

    assert update(1, "hello?", secret="guess").status_code == 403
    assert update(1, "hello?").status_code == 200
    assert update(2, "/stop").status_code == 200

    [received] = Event.objects.filter(profile=customer, name="Telegram Message Received")
    assert received.properties["text"] == "hello?"
    assert Consent.objects.get(profile=customer).status == Consent.OPTED_OUT
    message = queue(workspace, customer)
    sending.send_message(message.pk)
    assert MessageDecision.objects.get(message=message).reason == "opted_out"


def test_a_bot_api_on_a_private_address_is_refused_not_held(workspace, customer, bot_api, settings):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = []
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="telegram",
        settings={"bot_token": BOT_TOKEN, "api_base": bot_api.url},
    )
    message = queue(workspace, customer)

    # Refused by the SSRF guard before anything was sent: failed, never "unknown".
    assert sending.send_message(message.pk) == Message.FAILED
    assert bot_api.requests == []
