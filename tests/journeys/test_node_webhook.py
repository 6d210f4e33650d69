"""``webhook``: a signed POST per customer to the operator's endpoint, through
the SSRF guard; a call that fails is recorded and the customer goes on."""

import hashlib
import hmac
import json
import threading

import pytest

from engage.journeys import engine
from engage.journeys.models import Enrollment
from engage.journeys.nodes import webhook
from engage.messaging.models import MessageDecision
from engage.plugins.services import configure_plugin
from tests.channels.providers import Receiver
from tests.customer_factories import ProfileFactory

from .factories import live_journey
from .walking import T0, enroll, errors, ledger

pytestmark = pytest.mark.django_db

SECRET = "whsec-journeys"


@pytest.fixture
def sink(settings):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def signing(workspace):
    """The webhook channel, enabled: its secret signs journey calls."""
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="webhook",
        settings={"url": "https://hooks.example.com/messages", "signing_secret": SECRET},
    )


def call_journey(workspace, url: str, body: dict | None = None):
    node = {"type": "webhook", "url": url, "next": "done"}
    if body is not None:
        node["body"] = body
    definition = {
        "trigger": {"manual": True},
        "start": "call",
        "nodes": {"call": node, "done": {"type": "exit"}},
    }
    return live_journey(workspace, definition)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"url": "https://hooks.example.com/j", "body": {"a": 1}}, []),
        ({}, ["nodes.step.url: is required"]),
        (
            {"url": "ftp://hooks.example.com/j"},
            ["nodes.step.url: must be an http:// or https:// URL with a host"],
        ),
        (
            {"url": "http://10.1.2.3/hook"},
            [
                "nodes.step.url: refused: 10.1.2.3 is a private address"
                " (not in ENGAGE_OUTBOUND_ALLOWED_NETWORKS)"
            ],
        ),
        (
            {"url": "http://localhost:8000/hook"},
            ["nodes.step.url: refused: localhost is a loopback name"],
        ),
        (
            {"url": "https://hooks.example.com/j", "body": [1]},
            ["nodes.step.body: must be an object"],
        ),
    ],
    ids=["valid", "missing", "scheme", "private", "localhost", "body-list"],
)
def test_validation_names_the_field(node, expected):
    assert errors(webhook, node) == expected


def test_each_customer_is_posted_signed_with_the_steps_key(workspace, sink, signing):
    ws = workspace.workspace
    ann = ProfileFactory(workspace=ws, traits={"first_name": "Ann"})
    journey = call_journey(ws, sink.url + "/journey", body={"campaign": "spring"})
    (enrollment,) = enroll(journey, [ann])

    engine.advance(now=T0)

    [request] = sink.requests
    key = f"journey:{journey.pk}:1:call:{enrollment.pk}:0"
    assert (request.method, request.path) == ("POST", "/journey")
    assert request.headers["idempotency-key"] == key
    fields = dict(part.split("=", 1) for part in request.headers["x-engage-signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), fields["t"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    payload = json.loads(request.body)
    assert payload["body"] == {"campaign": "spring"}
    assert payload["profile"] == {"id": ann.pk, "traits": {"first_name": "Ann"}}
    assert (payload["journey"]["id"], payload["node"], payload["idempotency_key"]) == (
        journey.pk,
        "call",
        key,
    )
    assert ledger(enrollment) == [("call", "ok", "call"), ("exit", "completed", "done")]


def test_a_failed_call_is_recorded_and_the_customer_goes_on(workspace, sink, signing):
    ws = workspace.workspace
    journey = call_journey(ws, sink.url + "/journey")
    sink.fail_next(503, {"error": "down for maintenance"})
    enrollments = enroll(journey, ProfileFactory.create_batch(2, workspace=ws))

    engine.advance(now=T0)

    assert len(sink.requests) == 2
    rows = [ledger(e) for e in enrollments]
    assert sorted(row[0][1] for row in rows) == ["failed", "ok"]
    assert all(row[1] == ("exit", "completed", "done") for row in rows)
    failed = MessageDecision.objects.get(action="call", reason="failed")
    assert failed.detail.startswith("HTTP 503")


def test_a_refused_address_is_not_called(workspace, sink, signing, settings):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = []
    journey = call_journey(workspace.workspace, sink.url + "/journey")
    (enrollment,) = enroll(journey, [ProfileFactory(workspace=workspace.workspace)])

    engine.advance(now=T0)

    assert sink.requests == []
    assert ledger(enrollment)[0][:2] == ("call", "failed")
    assert Enrollment.objects.get(pk=enrollment.pk).end_reason == "completed"


def test_without_the_webhook_channel_nothing_is_sent_unsigned(workspace, sink):
    journey = call_journey(workspace.workspace, sink.url + "/journey")
    (enrollment,) = enroll(journey, [ProfileFactory(workspace=workspace.workspace)])

    engine.advance(now=T0)

    assert sink.requests == []
    assert ledger(enrollment) == [("call", "not_configured", "call"), ("exit", "completed", "done")]


class MeetingSink(Receiver):
    """Answers 200 only once ``parties`` requests are in flight together: calls
    made one after the other never meet, and get a 504."""

    def __init__(self, parties: int):
        self.meeting = threading.Barrier(parties, timeout=5)
        super().__init__()

    def handle(self, req):
        try:
            self.meeting.wait()
        except threading.BrokenBarrierError:
            return 504, {"error": "alone"}
        return super().handle(req)


def test_the_calls_of_a_batch_go_out_side_by_side(workspace, settings, signing):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    sink = MeetingSink(4)
    try:
        journey = call_journey(workspace.workspace, sink.url + "/journey")
        enrollments = enroll(journey, ProfileFactory.create_batch(4, workspace=workspace.workspace))

        engine.advance(now=T0)
    finally:
        sink.close()

    assert [ledger(e)[0] for e in enrollments] == [("call", "ok", "call")] * 4
