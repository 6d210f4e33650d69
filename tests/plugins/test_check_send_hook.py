import datetime as dt

import pytest

from engage.messaging import sending, services
from engage.messaging.models import Message, MessageDecision
from engage.messaging.rendering import Content
from engage.plugins import Decision, hookimpl
from engage.plugins.base import DEFER, SKIP
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile

from .conftest import BOT_TOKEN

pytestmark = pytest.mark.django_db
VERDICTS = []


class Defer:
    @hookimpl
    def engage_check_send(self, message, now):
        return VERDICTS[0] if VERDICTS else None


class Skip:
    @hookimpl
    def engage_check_send(self, message, profile):
        return VERDICTS[1] if len(VERDICTS) > 1 else None


@pytest.fixture
def plugins(register_plugin):
    register_plugin(Defer(), "test-defer")
    register_plugin(Skip(), "test-skip")
    yield VERDICTS
    VERDICTS.clear()


@pytest.fixture
def message(workspace, bot_api):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="telegram",
        settings={"bot_token": BOT_TOKEN, "api_base": bot_api.url},
    )
    profile = Profile.objects.create(workspace=workspace.workspace)
    Identity.objects.create(
        workspace=workspace.workspace, profile=profile, kind="telegram", value="42"
    )
    return services.create_message(
        workspace=workspace.workspace,
        profile=profile,
        channel="telegram",
        category="marketing",
        content=Content(body="hi"),
        send_now=False,
    ).message


def test_a_plugin_deferral_is_applied_and_logged(plugins, message):
    until = message.created_at + dt.timedelta(hours=2)
    plugins.append(Decision(DEFER, "crm_hold", "account under review", until))

    assert sending.send_message(message.pk) is None

    message.refresh_from_db()
    assert message.status == Message.DEFERRED and message.next_attempt_at == until
    logged = MessageDecision.objects.get(message=message)
    assert (logged.reason, logged.detail) == ("crm_hold", "account under review")


def test_any_plugin_skip_wins_over_a_deferral(plugins, message):
    plugins.append(Decision(DEFER, "later", until=message.created_at + dt.timedelta(hours=1)))
    plugins.append(Decision(SKIP, "detractor", "NPS 2 yesterday"))

    sending.send_message(message.pk)

    message.refresh_from_db()
    assert message.status == Message.SKIPPED
    assert MessageDecision.objects.get(message=message).reason == "detractor"


def test_no_opinion_lets_the_message_go(plugins, message, bot_api):
    assert sending.send_message(message.pk) == Message.SENT
    assert len(bot_api.requests) == 1
