"""Before publishing, an operator reads whom a version would take in: how many
customers the trigger matched in the last day, how many of them each branch
condition holds for, and who cannot be reached on each first rung."""

import base64
import datetime as dt
import json
from collections import Counter

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec

from engage.journeys import reach
from engage.journeys.models import Journey, JourneyVersion
from engage.journeys.preview import SAMPLE, Unreachable, preview
from engage.messaging.consent import record_consent
from engage.messaging.models import Consent
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity
from engage.segments.membership import ENTERED
from tests.customer_factories import EventFactory, ProfileFactory
from tests.live_processes import run_embedded

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CART = {
    "trigger": {"event": "Cart Updated", "where": [{"property": "total", "op": "gt", "value": 0}]},
    "start": "vip",
    "nodes": {
        "vip": {
            "type": "branch",
            "condition": {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
            "next": {"yes": "mail", "no": "ladder"},
        },
        "mail": {
            "type": "send",
            "channel": "email",
            "template": "cart",
            "category": "marketing",
            "topic": "cart",
            "next": "done",
        },
        "ladder": {
            "type": "ladder",
            "rungs": [
                {"channel": "push", "template": "cart-push", "window": {"hours": 4}},
                {"channel": "email", "template": "cart", "window": {"days": 1}},
            ],
            "next": {"responded": "done", "exhausted": "done"},
        },
        "done": {"type": "exit"},
    },
}


def draft(workspace, definition: dict) -> JourneyVersion:
    """A draft version taken as given (validation is the services' job)."""
    journey, _ = Journey.objects.get_or_create(workspace=workspace, name="Cart")
    number = journey.versions.count() + 1
    return JourneyVersion.objects.create(journey=journey, number=number, definition=definition)


def customer(workspace, *, email: str = "", plan: str = "free", carts=(), opted_out=False):
    """A customer who updated their cart ``carts`` (``(hours ago, total)`` each)."""
    profile = ProfileFactory(workspace=workspace, traits={"plan": plan})
    if email:
        Identity.objects.create(workspace=workspace, profile=profile, kind="email", value=email)
    for hours_ago, total in carts:
        EventFactory(
            profile=profile,
            name="Cart Updated",
            properties={"total": total},
            timestamp=NOW - dt.timedelta(hours=hours_ago),
        )
    if opted_out:
        record_consent(
            profile=profile, status=Consent.OPTED_OUT, source="test", channel="email", topic="cart"
        )
    return profile


@pytest.fixture
def email_enabled(workspace):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={"from_email": "news@shop.example", "smtp_host": "smtp.shop.example"},
    )


def test_the_trigger_branches_and_first_rungs_are_counted(
    workspace, other_workspace, email_enabled
):
    ours = workspace.workspace
    ada = customer(ours, email="ada@example.com", plan="pro", carts=[(1, 30)])
    bob = customer(ours, plan="pro", carts=[(2, 10), (3, 12)])  # no address, two carts
    cy = customer(ours, email="cy@example.com", carts=[(5, 5)], opted_out=True)
    customer(ours, email="dee@example.com", carts=[(1, 0)])  # the filter fails
    customer(ours, email="eve@example.com", carts=[(30, 50)])  # two days ago
    customer(ours, email="fay@example.com")  # no cart
    customer(other_workspace.workspace, email="gus@example.com", plan="pro", carts=[(1, 9)])

    seen = preview(draft(ours, CART), now=NOW)

    assert seen.audience == 3  # ada, bob, cy
    assert seen.branches == {"vip": 2}  # ada and bob are pro
    mail, ladder = seen.unreachable
    assert mail == Unreachable(
        node_id="mail",
        channel="email",
        count=2,
        sample=sorted([bob.pk, cy.pk]),
        reasons={"no_address": 1, "opted_out": 1},
    )
    # Neither push nor webpush is enabled: the ladder's first rung reaches nobody.
    assert (ladder.node_id, ladder.channel, ladder.count) == ("ladder", "push", 3)
    assert ladder.reasons == {"channel_disabled": 3}
    assert ada.pk not in mail.sample


def test_a_segment_trigger_counts_who_entered_the_segment_in_the_last_day(workspace):
    ours = workspace.workspace
    entered = [ProfileFactory(workspace=ours) for _ in range(2)]
    for segment_id, profile in [
        (41, entered[0]),
        (41, entered[1]),
        (42, ProfileFactory(workspace=ours)),
    ]:
        EventFactory(
            profile=profile,
            name=ENTERED,
            properties={"segment_id": segment_id},
            timestamp=NOW - dt.timedelta(hours=3),
        )
    definition = {
        "trigger": {"segment": 41, "on": "enter"},
        "start": "done",
        "nodes": {"done": {"type": "exit"}},
    }

    assert preview(draft(ours, definition), now=NOW).audience == 2
    leaving = {**definition, "trigger": {"segment": 41, "on": "leave"}}
    assert preview(draft(ours, leaving), now=NOW).audience == 0


def test_a_journey_entered_by_hand_has_no_audience_to_count(workspace):
    definition = {"trigger": {"manual": True}, "start": "done", "nodes": {"done": {"type": "exit"}}}

    seen = preview(draft(workspace.workspace, definition), now=NOW)

    assert (seen.audience, seen.branches, seen.unreachable) == (None, {}, [])


def test_only_the_first_customers_are_named_but_all_are_counted(workspace, email_enabled):
    ours = workspace.workspace
    unreachable = [customer(ours, plan="pro", carts=[(1, 5)]) for _ in range(SAMPLE + 2)]

    [mail, _ladder] = preview(draft(ours, CART), now=NOW).unreachable

    assert mail.count == SAMPLE + 2
    assert mail.sample == sorted(p.pk for p in unreachable)[:SAMPLE]


def test_the_version_page_shows_the_preview(admin_client, workspace, email_enabled):
    ours = workspace.workspace
    customer(ours, email="ada@example.com", plan="pro", carts=[(1, 30)])
    bob = customer(ours, plan="pro", carts=[(1, 10)])
    version = draft(ours, CART)

    with time_machine.travel(NOW, tick=False):
        page = admin_client.get(f"/admin/journeys/journeyversion/{version.pk}/change/").text

    assert "The trigger matched <strong>2</strong> customers in the last 24 hours." in page
    assert "Branch <strong>vip</strong>: the condition holds for 2 of them." in page
    assert "<strong>mail</strong>: 1 of them cannot be reached on the first rung (email)" in page
    assert f'href="/admin/profiles/profile/{bob.pk}/change/">profile {bob.pk}</a>' in page


SQLITE_SCRIPT = """
import datetime as dt
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from engage.journeys.models import Journey, JourneyVersion
from engage.journeys.preview import preview
from engage.profiles.models import Identity
from engage.workspaces.services import create_workspace
from tests.customer_factories import EventFactory, ProfileFactory

now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
workspace = create_workspace(name="acme").workspace
for plan, email, total in [("pro", "ada@example.com", 30), ("pro", "", 10), ("free", "", 0)]:
    profile = ProfileFactory(workspace=workspace, traits={"plan": plan})
    if email:
        Identity.objects.create(workspace=workspace, profile=profile, kind="email", value=email)
    EventFactory(profile=profile, name="Cart Updated", properties={"total": total},
                 timestamp=now - dt.timedelta(hours=1))
journey = Journey.objects.create(workspace=workspace, name="Cart")
version = JourneyVersion.objects.create(journey=journey, number=1,
                                         definition=json.loads(%r))
seen = preview(version, now=now)
print(json.dumps([seen.audience, seen.branches, [u.count for u in seen.unreachable]]))
"""


def test_the_preview_counts_the_same_on_sqlite(tmp_path):
    script = SQLITE_SCRIPT % json.dumps(CART)
    done = run_embedded(["-c", script], tmp_path / "engage.sqlite3")

    assert done.returncode == 0, done.stderr
    # Two carts over 0; both pro; email is not enabled there, nor push.
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [2, {"vip": 2}, [2, 2]]


REACH_FLOW = {
    "trigger": {"event": "Cart Updated"},
    "start": "mail",
    "nodes": {
        "mail": {
            "type": "send",
            "channel": "email",
            "template": "cart",
            "category": "marketing",
            "topic": "cart",
            "next": "text",
        },
        "text": {"type": "send", "channel": "sms", "template": "cart-sms", "category": "marketing"},
    },
}


def test_who_cannot_be_reached_is_who_the_step_would_skip(workspace, email_enabled):
    """The counts come from SQL; the step decides through ``reach``: both
    agree on addresses by identity or trait, consent by topic or for
    marketing, on one channel or all, the latest row winning, and SMS opt-in."""
    ours = workspace.workspace
    configure_plugin(
        workspace=ours,
        plugin_id="sms",
        settings={
            "account_sid": "AC" + "1" * 32,
            "auth_token": "t" * 32,
            "from_number": "+14155550123",
        },
    )

    def person(traits=None, email="", consents=()):
        profile = customer(ours, email=email, carts=[(1, 1)])
        profile.traits = {**profile.traits, **(traits or {})}
        profile.save(update_fields=["traits"])
        for at, channel, topic, status in consents:
            record_consent(
                profile=profile,
                status=status,
                source="test",
                channel=channel,
                topic=topic,
                at=NOW - dt.timedelta(hours=at),
            )
        return profile

    out, yes = Consent.OPTED_OUT, Consent.OPTED_IN
    people = [
        person(email="a@example.com"),
        person({"email": "b@example.com", "phone": "+14155550001"}),
        person({"email": "", "phone": ""}),
        person(email="c@example.com", consents=[(2, "email", "cart", out)]),
        person(email="d@example.com", consents=[(2, "", "marketing", out)]),
        person(email="e@example.com", consents=[(3, "email", "cart", out), (2, "", "cart", yes)]),
        person({"phone": "+14155550002"}, consents=[(2, "sms", "marketing", yes)]),
        person({"phone": "+14155550003"}, consents=[(2, "", "marketing", yes)]),
        person({"phone": "+14155550004"}, consents=[(2, "sms", "news", yes)]),
        person(
            {"phone": "+14155550005"},
            email="f@example.com",
            consents=[(2, "sms", "marketing", out)],
        ),
    ]

    mail, text = preview(draft(ours, REACH_FLOW), now=NOW).unreachable

    for found, channel, topic in ((mail, "email", "cart"), (text, "sms", "")):
        _, _, refused = reach.reachable(
            workspace=ours, channel_id=channel, profiles=people, category="marketing", topic=topic
        )
        expected = Counter(reason for reason, _ in refused.values())
        assert found.reasons == dict(expected), channel
        assert found.count == len(refused)
        assert found.sample == sorted(refused)
    assert mail.reasons == {"no_address": 4, "opted_out": 2}
    assert text.reasons == {"no_address": 5, "opted_out": 1, "no_opt_in": 2}


def test_a_push_rung_reaches_customers_on_web_push_alone(workspace):
    ours = workspace.workspace
    number = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    key = base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()
    configure_plugin(
        workspace=ours,
        plugin_id="webpush",
        settings={"vapid_private_key": key, "vapid_subject": "mailto:ops@acme.test"},
    )
    subscribed = customer(ours, carts=[(1, 5)])
    subscribed.traits = {
        "web_push_subscription": {
            "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
            "keys": {"p256dh": "k", "auth": "a"},
        }
    }
    subscribed.save(update_fields=["traits"])
    unsubscribed = customer(ours, carts=[(1, 5)])

    [_mail, ladder] = preview(draft(ours, CART), now=NOW).unreachable

    assert (ladder.channel, ladder.count, ladder.sample) == ("push", 1, [unsubscribed.pk])
    assert ladder.reasons == {"no_address": 1}
