"""The official Segment Python client, pointed at a live engage server with ``host=``.

Existing integrations switch to engage by changing the host only: every call
type must arrive as the library sent it, messageId included, and identities
must resolve as they would from any other source.
"""

import logging
from datetime import datetime

import pytest
from segment.analytics import Client
from segment.analytics.request import APIError, post

from engage.events.models import Event
from engage.profiles.models import Identity, ProfileMerge
from tests.identity_helpers import identities, profile_of
from tests.live_processes import gunicorn, process_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

CONTEXT = {"ip": "203.0.113.7", "locale": "fr-FR", "timezone": "Europe/Paris"}


@pytest.fixture(scope="module")
def engage_url(django_db_setup, tmp_path_factory):
    """engage served by gunicorn on the test database, tasks inline (no broker)."""
    with gunicorn(process_env(), tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture
def client_for(engage_url):
    """``client_for(write_key, **options)``: a Segment client sending to the server."""
    made = []

    def make(write_key, **options):
        options.setdefault("sync_mode", True)
        # Fail fast: a retry loop would only hide an error in a test.
        options.setdefault("max_retries", 0)
        client = Client(write_key, host=engage_url, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        if not client.sync_mode:
            client.join()


def stored(workspace, message):
    """The stored event for a message the client returned from a call."""
    return Event.objects.get(workspace=workspace, message_id=message["messageId"])


def assert_sent_as_is(event, message):
    """The fields every call shares arrive exactly as the library sent them."""
    assert event.type == message["type"]
    assert event.user_id == (message.get("userId") or "")
    assert event.anonymous_id == (message.get("anonymousId") or "")
    assert event.context == message["context"]
    assert event.context["library"]["name"] == "analytics-python"
    assert event.original_timestamp == datetime.fromisoformat(message["timestamp"])
    assert event.processed_at is not None, event.warnings


def test_each_call_type_is_stored_unchanged_in_sync_mode(workspace, client_for):
    ws = workspace.workspace
    segment = client_for(workspace.write_key)

    _, identify = segment.identify(
        "user-42",
        {"email": "Ada@Example.com", "name": "Ada", "plan": "pro"},
        context=dict(CONTEXT),
        anonymous_id="anon-laptop",
    )
    _, track = segment.track(
        "user-42",
        "Order Completed",
        {"order_id": "o-1", "total": 42.5, "items": [{"sku": "A", "qty": 2}]},
        context=dict(CONTEXT),
    )
    _, page = segment.page(
        anonymous_id="anon-laptop", category="Docs", name="Pricing", properties={"path": "/p"}
    )
    _, screen = segment.screen("user-42", name="Home", properties={"tab": "feed"})
    _, group = segment.group("user-42", "company-7", {"name": "Acme", "employees": 120})

    event = stored(ws, identify)
    assert_sent_as_is(event, identify)
    assert event.traits == {"email": "Ada@Example.com", "name": "Ada", "plan": "pro"}

    event = stored(ws, track)
    assert_sent_as_is(event, track)
    assert (event.name, event.properties) == ("Order Completed", track["properties"])

    event = stored(ws, page)
    assert_sent_as_is(event, page)
    assert event.name == "Pricing"
    assert event.properties == {"path": "/p", "category": "Docs"}

    event = stored(ws, screen)
    assert_sent_as_is(event, screen)
    assert (event.name, event.properties) == ("Home", {"tab": "feed"})

    event = stored(ws, group)
    assert_sent_as_is(event, group)
    assert (event.group_id, event.traits) == ("company-7", {"name": "Acme", "employees": 120})

    # One customer: the identify tied the user id, the anonymous id and the email.
    profile = profile_of(ws, Identity.USER_ID, "user-42")
    assert identities(profile) == {
        ("user_id", "user-42"),
        ("anonymous_id", "anon-laptop"),
        ("email", "ada@example.com"),
    }
    assert set(Event.objects.filter(workspace=ws).values_list("profile", flat=True)) == {profile.pk}
    assert profile.traits["plan"] == "pro"
    assert (profile.timezone, profile.locale) == ("Europe/Paris", "fr-FR")


def test_alias_merges_the_anonymous_visitor_into_the_user(workspace, client_for):
    ws = workspace.workspace
    segment = client_for(workspace.write_key)
    segment.track(anonymous_id="anon-phone", event="App Opened")
    segment.identify("user-7", {"plan": "free"})
    _, alias = segment.alias("anon-phone", "user-7")

    event = stored(ws, alias)
    assert_sent_as_is(event, alias)
    assert event.previous_id == "anon-phone"

    profile = profile_of(ws, Identity.USER_ID, "user-7")
    assert identities(profile) == {("user_id", "user-7"), ("anonymous_id", "anon-phone")}
    merge = ProfileMerge.objects.get(workspace=ws)
    assert (merge.reason, merge.survivor_id, merge.message_id) == (
        ProfileMerge.ALIAS,
        profile.pk,
        alias["messageId"],
    )
    assert set(Event.objects.filter(workspace=ws).values_list("profile", flat=True)) == {profile.pk}


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_queued_calls_arrive_as_one_batch_on_flush(workspace, client_for, gzip):
    ws = workspace.workspace
    errors = []
    segment = client_for(
        workspace.write_key,
        sync_mode=False,
        gzip=gzip,
        upload_size=100,
        on_error=lambda error, batch: errors.append(error),
    )
    sent = [
        segment.identify("user-9", {"email": "bo@example.com"}, anonymous_id="anon-9")[1],
        *(
            segment.track("user-9", "Viewed Product", {"sku": f"S-{n}"}, message_id=f"mine-{n}")[1]
            for n in range(5)
        ),
        segment.page(anonymous_id="anon-9", name="Cart")[1],
        segment.alias("anon-9", "user-9")[1],
    ]
    segment.flush()

    assert errors == []
    assert Event.objects.filter(workspace=ws).count() == len(sent)
    for message in sent:
        assert_sent_as_is(stored(ws, message), message)
    # A messageId the caller chose is kept as is.
    assert stored(ws, sent[1]).message_id == "mine-0"
    assert stored(ws, sent[1]).properties == {"sku": "S-0"}
    profile = profile_of(ws, Identity.EMAIL, "bo@example.com")
    assert identities(profile) == {
        ("user_id", "user-9"),
        ("anonymous_id", "anon-9"),
        ("email", "bo@example.com"),
    }
    assert Event.objects.filter(workspace=ws, profile=profile).count() == len(sent)


def test_a_resent_batch_stores_nothing_new(workspace, client_for):
    ws = workspace.workspace
    segment = client_for(workspace.write_key)
    for _ in range(2):
        segment.track("user-1", "Signed Up", message_id="retry-me")
    assert Event.objects.filter(workspace=ws, message_id="retry-me").count() == 1


def test_a_wrong_write_key_reaches_on_error_and_stores_nothing(workspace, client_for):
    errors = []
    segment = client_for(
        "wk_not-a-key", sync_mode=False, on_error=lambda error, batch: errors.append((error, batch))
    )
    segment.track("user-1", "Signed Up")
    segment.flush()

    assert len(errors) == 1
    error, batch = errors[0]
    assert isinstance(error, APIError)
    assert (error.status, error.code) == (401, "unauthorized")
    assert "unknown or revoked write key" in error.message
    assert [m["event"] for m in batch] == ["Signed Up"]
    assert not Event.objects.exists()


def test_a_secret_key_cannot_ingest(workspace, client_for):
    segment = client_for(workspace.secret_key)
    with pytest.raises(APIError) as refused:
        segment.track("user-1", "Signed Up")
    assert refused.value.status == 401
    assert "secret key cannot ingest" in refused.value.message
    assert not Event.objects.exists()


def test_each_write_key_lands_in_its_own_workspace(workspace, other_workspace, client_for):
    acme, globex = workspace.workspace, other_workspace.workspace
    client_for(workspace.write_key).identify("same-user", {"email": "one@acme.example"})
    client_for(other_workspace.write_key).identify("same-user", {"email": "two@globex.example"})

    assert list(Event.objects.filter(workspace=acme).values_list("traits", flat=True)) == [
        {"email": "one@acme.example"}
    ]
    assert list(Event.objects.filter(workspace=globex).values_list("traits", flat=True)) == [
        {"email": "two@globex.example"}
    ]
    # The same user id is two customers, one per workspace, each with its own email.
    assert identities(profile_of(acme, Identity.USER_ID, "same-user")) == {
        ("user_id", "same-user"),
        ("email", "one@acme.example"),
    }
    assert identities(profile_of(globex, Identity.USER_ID, "same-user")) == {
        ("user_id", "same-user"),
        ("email", "two@globex.example"),
    }


def test_the_client_waits_out_a_rate_limit_and_delivers_everything(workspace, client_for, caplog):
    caplog.set_level(logging.DEBUG, logger="segment")
    ws = workspace.workspace
    ws.rate_limit_per_second = 2
    ws.save(update_fields=["rate_limit_per_second"])
    errors = []
    segment = client_for(
        workspace.write_key,
        sync_mode=False,
        upload_size=1,  # one request per call, so that they exceed the rate
        on_error=lambda error, batch: errors.append(error),
    )
    sent = [segment.track("user-1", "Clicked", {"n": n})[1] for n in range(5)]
    segment.flush()

    # 429 with Retry-After made the client wait and resend, never give up.
    assert "Rate-limited (status 429)" in caplog.text
    assert errors == []
    stored_ids = set(Event.objects.filter(workspace=ws).values_list("message_id", flat=True))
    assert stored_ids == {message["messageId"] for message in sent}


def test_an_explicit_batch_posted_with_the_library_is_stored_whole(workspace, engage_url):
    ws = workspace.workspace
    batch = [
        {
            "type": "identify",
            "userId": "u-5",
            "traits": {"email": "cy@example.com"},
            "messageId": "e1",
        },
        {
            "type": "track",
            "userId": "u-5",
            "event": "Paid",
            "properties": {"eur": 9},
            "messageId": "e2",
        },
        {"type": "alias", "previousId": "anon-5", "userId": "u-5", "messageId": "e3"},
        {"type": "group", "userId": "u-5", "groupId": "g-1", "messageId": "e4"},
    ]
    response = post(workspace.write_key, engage_url, gzip=True, batch=batch)

    assert response.json() == {"success": True}
    stored_events = Event.objects.filter(workspace=ws).order_by("message_id")
    assert [(e.message_id, e.type) for e in stored_events] == [
        ("e1", "identify"),
        ("e2", "track"),
        ("e3", "alias"),
        ("e4", "group"),
    ]
    assert stored(ws, {"messageId": "e2"}).properties == {"eur": 9}
    assert identities(profile_of(ws, Identity.USER_ID, "u-5")) == {
        ("user_id", "u-5"),
        ("email", "cy@example.com"),
        ("anonymous_id", "anon-5"),
    }
