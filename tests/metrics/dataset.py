"""A small shop worked out by hand: four customers of ``acme`` from January
to April 2025, and one of ``globex`` that no ``acme`` figure may include.

The tests compute every metric from these rows with the arithmetic written
beside each assertion. Times are noon UTC unless said otherwise.

- Ann: signs up 10 Jan (web, campaign source "google"); orders 15 Jan (100),
  25 Jan (50), 5 Mar (30); ticket solved 20 Jan, opened again 22 Jan.
  Messages: email m1 (journey "Welcome", template "welcome") sent 10 Jan,
  opened 10 Jan 13:00; sms m2 sent 14 Jan, clicked and unsubscribed.
- Bob: signs up 20 Jan (ios, source "newsletter"); email m3 (Welcome) sent
  8 Feb and opened; webpush m4 sent 9 Feb and clicked; email m5 sent 9 Feb
  18:00, delivered; an inbound SMS 9 Feb; orders 10 Feb (200); ticket solved
  12 Feb.
- Cy: views a page 3 Feb 10:00 (web, no source); an inbound WhatsApp message
  3 Feb 10:00 and an inbound SMS 3 Feb 20:00; orders 4 Feb (40) and 4 Apr (60).
- Dee: an "Email Delivered" 5 Jan (engage's own, not her activity); signs up
  20 Feb (web); active 10 Mar; email m6 sent 1 Mar, bounced.
"""

import datetime as dt

from engage.journeys.models import Enrollment, NodeCount
from engage.messaging.models import Message, MessageTemplate
from tests.customer_factories import EventFactory, ProfileFactory
from tests.journeys.factories import live_journey

START = dt.date(2025, 1, 1)
END = dt.date(2025, 3, 31)


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=dt.UTC)


def did(profile, name: str, when: dt.datetime, channel: str = "", **properties):
    context = {}
    if "source" in properties:
        context["campaign"] = {"source": properties.pop("source")}
    return EventFactory(
        profile=profile,
        name=name,
        timestamp=when,
        channel=channel,
        context=context,
        properties=properties,
    )


def sent(profile, channel: str, when: dt.datetime, key: str, **fields) -> Message:
    return Message.objects.create(
        workspace=profile.workspace,
        profile=profile,
        channel=channel,
        category=Message.MARKETING,
        idempotency_key=key,
        status=Message.SENT,
        sent_at=when,
        **fields,
    )


class Shop:
    def __init__(self, workspace, other_workspace):
        self.workspace = workspace
        self.ann = ann = ProfileFactory(workspace=workspace)
        self.bob = bob = ProfileFactory(workspace=workspace)
        self.cy = cy = ProfileFactory(workspace=workspace)
        self.dee = dee = ProfileFactory(workspace=workspace)
        self.welcome = welcome = live_journey(
            workspace,
            {"trigger": {"manual": True}, "start": "hello", "nodes": {"hello": {"type": "exit"}}},
            name="Welcome",
        )
        self.template = template = MessageTemplate.objects.create(
            workspace=workspace, name="welcome", channel="email", body="Hi"
        )
        journey = {"journey_id": welcome.pk, "source": Message.JOURNEY}

        did(ann, "Signed Up", at(1, 10), "web", source="google")
        did(ann, "Order Completed", at(1, 15), revenue=100)
        did(ann, "Ticket Solved", at(1, 20))
        did(ann, "Ticket Opened", at(1, 22))
        did(ann, "Order Completed", at(1, 25), revenue=50)
        did(ann, "Order Completed", at(3, 5), revenue=30)
        sent(ann, "email", at(1, 10), "m1", opened_at=at(1, 10, 13), template=template, **journey)
        sent(ann, "sms", at(1, 14), "m2", clicked_at=at(1, 14, 13), unsubscribed_at=at(1, 15))

        did(bob, "Signed Up", at(1, 20), "ios", source="newsletter")
        sent(bob, "email", at(2, 8), "m3", opened_at=at(2, 8, 13), **journey)
        sent(bob, "webpush", at(2, 9), "m4", clicked_at=at(2, 9, 13))
        sent(bob, "email", at(2, 9, 18), "m5", delivered_at=at(2, 9, 18, 1))
        did(bob, "SMS Message Received", at(2, 9), "sms")
        did(bob, "Order Completed", at(2, 10), revenue=200)
        did(bob, "Ticket Solved", at(2, 12))

        did(cy, "Page Viewed", at(2, 3, 10), "web")
        did(cy, "WhatsApp Message Received", at(2, 3, 10), "whatsapp")
        did(cy, "SMS Message Received", at(2, 3, 20), "sms")
        did(cy, "Order Completed", at(2, 4), revenue=40)
        did(cy, "Order Completed", at(4, 4), revenue=60)

        did(dee, "Email Delivered", at(1, 5), "email")
        did(dee, "Signed Up", at(2, 20), "web")
        did(dee, "Page Viewed", at(3, 10), "web")
        sent(dee, "email", at(3, 1), "m6", bounced_at=at(3, 1, 13))

        version = welcome.live_version
        for profile, entered, reason in (
            (ann, at(1, 9), Enrollment.COMPLETED),
            (bob, at(2, 7), Enrollment.CONVERTED),
            (cy, at(2, 1), ""),
            (dee, at(4, 10), Enrollment.EXITED_CONDITION),
        ):
            Enrollment.objects.create(
                workspace=workspace,
                journey=welcome,
                version=version,
                profile=profile,
                node_id="hello" if not reason else "done",
                entered_at=entered,
                ended_at=entered + dt.timedelta(days=1) if reason else None,
                end_reason=reason,
            )
        NodeCount.objects.create(version=version, node_id="hello", count=4)
        NodeCount.objects.create(version=version, node_id="hello", edge="next", count=3)

        # Another workspace's customer: the same history as Ann's.
        eve = ProfileFactory(workspace=other_workspace)
        did(eve, "Signed Up", at(1, 10), "web", source="google")
        did(eve, "Order Completed", at(1, 15), revenue=1000)
        did(eve, "Ticket Solved", at(1, 20))
        did(eve, "SMS Message Received", at(1, 21), "sms")
        sent(eve, "email", at(1, 14), "m1", opened_at=at(1, 14, 13))


def snapshot(shop: Shop) -> dict:
    """Every metric of the shop as JSON, ids replaced by names and floats
    rounded, so two databases' answers compare equal."""
    import json
    from dataclasses import asdict

    from engage.metrics import (
        attribution,
        channels,
        crosschannel,
        journeys,
        purchases,
        retention,
        service,
        value,
    )

    calls = {
        "value": value.value(shop.workspace, start=START, end=END),
        "retention": retention.retention(shop.workspace, start=START, end=END),
        "retention_weeks": retention.retention(
            shop.workspace, start=START, end=END, grain="week", basis="first_purchase"
        ),
        "dormant": retention.dormant(
            shop.workspace, start=START, end=dt.date(2025, 8, 31), grain="week"
        ),
        "purchases": purchases.purchases(shop.workspace, start=START, end=END),
        "crosschannel": crosschannel.crosschannel(shop.workspace, start=START, end=END),
        "journeys": journeys.journeys(shop.workspace, start=START, end=END),
        "channels": channels.channels(shop.workspace, start=START, end=END),
        "service": service.service(shop.workspace, start=START, end=END),
    }
    for by in attribution.DIMENSIONS:
        calls[f"attribution_{by}"] = attribution.attribution(
            shop.workspace, start=START, end=END, by=by
        )
    out = {name: asdict(result) for name, result in calls.items()}
    # A journey and a template may share an id: each key is named in its own table.
    journey_names = {str(shop.welcome.pk): "welcome"}
    for row in out["attribution_journey"]["rows"]:
        row["key"] = journey_names.get(row["key"], row["key"])
    for row in out["attribution_template"]["rows"]:
        row["key"] = {str(shop.template.pk): "template"}.get(row["key"], row["key"])
    for row in out["crosschannel"]["rows"]:
        if row["group"] == "journey":
            row["key"] = journey_names[row["key"]]
    for row in out["journeys"]["rows"] + out["journeys"]["nodes"]:
        row["journey_id"] = "welcome"
    return json.loads(json.dumps(out), parse_float=lambda number: round(float(number), 9))
