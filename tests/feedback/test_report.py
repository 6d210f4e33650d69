"""GET /api/feedback/report: NPS over time, by channel and journey, with
response rates; CSAT and effort averages; bad parameters named."""

from datetime import UTC, datetime

import pytest

from engage.feedback import services
from engage.messaging.models import Message, MessageTemplate

pytestmark = pytest.mark.django_db

WEEK_1 = datetime(2026, 11, 2, 10, tzinfo=UTC)  # a Monday
WEEK_2 = datetime(2026, 11, 10, 10, tzinfo=UTC)
RANGE = "since=2026-11-01T00:00:00Z&until=2026-11-20T00:00:00Z"


def asked(workspace, customer, channel, at, n, journey_id=None) -> Message:
    template = MessageTemplate.objects.get(workspace=workspace.workspace, name=f"nps-{channel}")
    return Message.objects.create(
        workspace=workspace.workspace,
        profile=customer,
        channel=channel,
        category="service",
        template=template,
        idempotency_key=f"{channel}-{n}",
        status=Message.DELIVERED,
        sending_at=at,
        source=Message.JOURNEY if journey_id else Message.API,
        journey_id=journey_id,
    )


def answered(customer, message, score, at, kind="nps"):
    services.record_answer(
        services.Answer(
            profile=customer,
            kind=kind,
            score=score,
            key=f"test:{kind}:{message.pk if message else score}:{at}",
            source="reply" if message else "api",
            message=message,
            channel="" if message else "kiosk",
            answered_at=at,
        )
    )


def test_nps_over_time_by_channel_and_journey_with_response_rates(
    api, workspace, customer, nps_survey
):
    emails = [asked(workspace, customer, "email", WEEK_1, n, journey_id=7) for n in range(4)]
    texts = [asked(workspace, customer, "sms", WEEK_2, n) for n in range(2)]
    for message, score in zip(emails, (10, 9, 3), strict=False):
        answered(customer, message, score, WEEK_1)
    for message, score in zip(texts, (6, 8), strict=True):
        answered(customer, message, score, WEEK_2)

    response = api("get", f"/api/feedback/report?kind=nps&{RANGE}", workspace.secret_key)
    assert response.status_code == 200, response.json()
    report = response.json()
    summary = report["summary"]
    assert (summary["answers"], summary["promoters"], summary["detractors"]) == (5, 2, 2)
    assert (summary["nps"], summary["surveys_sent"], summary["response_rate"]) == (0.0, 6, 0.8333)
    weeks = [(w["period"][:10], w["answers"], w["nps"]) for w in report["over_time"]]
    assert weeks == [("2026-11-02", 3, 33.3), ("2026-11-09", 2, -50.0)]
    channels = {
        c["channel"]: (c["answers"], c["nps"], c["response_rate"]) for c in report["by_channel"]
    }
    assert channels == {"email": (3, 33.3, 0.75), "sms": (2, -50.0, 1.0)}
    journeys = {j["journey_id"]: (j["answers"], j["surveys_sent"]) for j in report["by_journey"]}
    assert journeys == {7: (3, 4), None: (2, 2)}


def test_csat_average_by_day(api, workspace, customer):
    answered(customer, None, 5, WEEK_1, kind="csat")
    answered(customer, None, 2, WEEK_1, kind="csat")
    answered(customer, None, 4, WEEK_2, kind="csat")
    report = api(
        "get", f"/api/feedback/report?kind=csat&interval=day&{RANGE}", workspace.secret_key
    ).json()
    assert [(d["period"][:10], d["average"]) for d in report["over_time"]] == [
        ("2026-11-02", 3.5),
        ("2026-11-10", 4.0),
    ]
    assert report["summary"]["average"] == 3.67 and report["summary"]["nps"] is None
    assert report["by_channel"][0]["channel"] == "kiosk"


@pytest.mark.parametrize(
    ("query", "parameter", "reason"),
    [
        ("", "kind", "must be one of nps, csat, effort"),
        ("kind=ces", "kind", "must be one of nps, csat, effort"),
        ("kind=nps&interval=year", "interval", "must be one of day, week, month"),
        ("kind=nps&since=yesterday", "since", "must be an ISO 8601 date-time"),
        (
            "kind=nps&since=2026-11-20T00:00:00Z&until=2026-11-01T00:00:00Z",
            "since",
            "must be before until",
        ),
        ("kind=nps&since=2020-01-01T00:00:00Z", "since", "the range may span at most three"),
    ],
    ids=["no_kind", "scoring_ces_is_not_a_kind", "interval", "not_a_date", "reversed", "too_long"],
)
def test_bad_report_parameters_are_named(api, workspace, query, parameter, reason):
    response = api("get", f"/api/feedback/report?{query}", workspace.secret_key)
    assert response.status_code == 400
    assert response.json()["errors"][parameter][0].startswith(reason)
