"""A small shop for the overview, its numbers worked out by hand in
``EXPECTED`` (the charts' tables, row by row), and one row of each kind in
another workspace that must never show."""

import datetime as dt
from datetime import date

from engage.feedback import scales
from engage.feedback.models import Feedback
from engage.journeys.models import Enrollment, NodeCount
from engage.messaging.models import Message, MessageDecision
from tests.customer_factories import EventFactory, ProfileFactory
from tests.journeys.factories import live_journey

DAY1 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)  # a Monday
START, END = date(2026, 3, 2), date(2026, 3, 4)
QUERY = {"start": "2026-03-02", "end": "2026-03-04"}
FLOW = {
    "trigger": {"manual": True},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"hours": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}
# chart key: rows of (label, cells as the table shows them)
EXPECTED = {
    "customers-events": [
        ["2026-03-02", "2", "3"],
        ["2026-03-03", "0", "1"],
        ["2026-03-04", "0", "0"],
    ],
    "active-channels": [["web", "2"], ["sms", "1"]],
    "revenue": [["2026-03", "40.00", "20.00"]],
    "retention": [["2026-03-02 (2)", "100%"]],
    "nps": [["2026-03-02", "0.0", "2"]],
    "messages": [["email", "2", "0"], ["sms", "0", "1"]],
    "journeys": [["Welcome", "2", "1", "0", "1"]],
    "decisions": [["skipped: no_address", "2"], ["deferred: quiet_hours", "1"]],
}


def at(days: float) -> dt.datetime:
    return DAY1 + dt.timedelta(days=days)


def _dated(model, row, when):
    model.objects.filter(pk=row.pk).update(created_at=when)


def seed(workspace, other):
    ann = ProfileFactory(workspace=workspace, first_seen_at=at(0))
    bob = ProfileFactory(workspace=workspace, first_seen_at=at(0.5))
    stranger = ProfileFactory(workspace=other, first_seen_at=at(0))
    for profile, day, name, channel, properties in [
        (ann, 0, "Page Viewed", "web", {}),
        (ann, 0.2, "Order Completed", "web", {"revenue": 30}),
        (bob, 0.5, "Order Completed", "web", {"revenue": 10}),
        (bob, 1, "Page Viewed", "sms", {}),
        (ann, 8, "Page Viewed", "email", {}),  # after the range
        (stranger, 0, "Order Completed", "web", {"revenue": 999}),
    ]:
        EventFactory(
            profile=profile, timestamp=at(day), name=name, channel=channel, properties=properties
        )
    for profile, score in [(ann, 10), (bob, 3), (stranger, 0)]:
        Feedback.objects.create(
            workspace=profile.workspace,
            profile=profile,
            kind=scales.NPS,
            score=score,
            category=scales.category(scales.NPS, score),
            source=Feedback.API,
            key=f"answer-{profile.pk}",
            answered_at=at(1),
        )
    for n, (profile, channel, status) in enumerate(
        [
            (ann, "email", Message.SENT),
            (bob, "email", Message.SENT),
            (bob, "sms", Message.FAILED),
            (stranger, "email", Message.SENT),
        ]
    ):
        message = Message.objects.create(
            workspace=profile.workspace,
            profile=profile,
            channel=channel,
            category=Message.MARKETING,
            status=status,
            idempotency_key=f"k{n}",
        )
        _dated(Message, message, at(1))
    for profile, action, reason in [
        (ann, MessageDecision.SKIP, "no_address"),
        (bob, MessageDecision.SKIP, "no_address"),
        (bob, MessageDecision.DEFER, "quiet_hours"),
        (stranger, MessageDecision.SKIP, "elsewhere"),
    ]:
        decision = MessageDecision.objects.create(
            workspace=profile.workspace,
            profile=profile,
            channel="email",
            action=action,
            reason=reason,
        )
        _dated(MessageDecision, decision, at(1))
    journey = live_journey(workspace, FLOW, name="Welcome")
    version = journey.live_version
    Enrollment.objects.create(
        workspace=workspace,
        journey=journey,
        version=version,
        profile=ann,
        node_id="done",
        entered_at=at(0),
        ended_at=at(0.1),
        end_reason=Enrollment.COMPLETED,
    )
    Enrollment.objects.create(
        workspace=workspace,
        journey=journey,
        version=version,
        profile=bob,
        node_id="pause",
        waiting=True,
        entered_at=at(0.5),
    )
    NodeCount.objects.create(version=version, node_id="pause", count=2)
    NodeCount.objects.create(version=version, node_id="pause", edge="next", count=1)
    NodeCount.objects.create(version=version, node_id="done", count=1)
    return {"ann": ann, "bob": bob, "journey": journey}
