import datetime as dt

import pytest

from engage.journeys import engine
from engage.journeys.models import Enrollment
from engage.journeys.validation import InvalidDefinition, validate_definition
from engage.messaging.models import MessageDecision, MessagingPolicy
from engage.profiles.models import Profile

from .factories import live_journey

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def morning(**node):
    return {
        "trigger": {"manual": True},
        "start": "morning",
        "nodes": {
            "morning": {"type": "wait_until", "time": "10:00", "next": "done", **node},
            "done": {"type": "exit"},
        },
    }


def parked_until(workspace, profile, now, **node) -> Enrollment:
    """Walk ``profile`` into a wait_until node at ``now``; the parked enrollment."""
    journey = live_journey(workspace, morning(**node))
    enrollment = Enrollment.objects.create(
        workspace=workspace,
        journey=journey,
        version=journey.live_version,
        profile=profile,
        node_id="morning",
        next_run_at=now,
        entered_at=now,
    )
    assert engine.advance(now=now) == 1
    enrollment.refresh_from_db()
    assert enrollment.waiting and enrollment.ended_at is None
    return enrollment


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Saturday 13:00 in Paris (CET, UTC+1); Sunday clocks go forward.
        (dt.datetime(2026, 3, 28, 12, 0, tzinfo=UTC), dt.datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
        # Saturday 14:00 in Paris (CEST, UTC+2); Sunday clocks go back.
        (dt.datetime(2026, 10, 24, 12, 0, tzinfo=UTC), dt.datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
        # 09:00 in Paris: today's ten o'clock is still ahead.
        (dt.datetime(2026, 6, 10, 7, 0, tzinfo=UTC), dt.datetime(2026, 6, 10, 8, 0, tzinfo=UTC)),
    ],
    ids=["spring-forward", "fall-back", "later-today"],
)
def test_next_ten_oclock_is_ten_on_the_customers_clock_across_a_dst_change(
    workspace, now, expected
):
    ws = workspace.workspace
    customer = Profile.objects.create(workspace=ws, traits={"timezone": "Europe/Paris"})

    enrollment = parked_until(ws, customer, now)

    assert enrollment.next_run_at == expected
    wait = MessageDecision.objects.get(enrollment_id=enrollment.pk, action="wait")
    assert wait.until == expected and "Europe/Paris" in wait.detail


def test_the_customer_goes_on_at_that_time_and_not_before(workspace):
    ws = workspace.workspace
    customer = Profile.objects.create(workspace=ws, timezone="Asia/Tokyo")
    now = dt.datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
    enrollment = parked_until(ws, customer, now)
    ten_in_tokyo = dt.datetime(2026, 6, 11, 1, 0, tzinfo=UTC)
    assert enrollment.next_run_at == ten_in_tokyo

    assert engine.advance(now=ten_in_tokyo - dt.timedelta(seconds=1)) == 0
    assert engine.advance(now=ten_in_tokyo) == 1

    enrollment.refresh_from_db()
    assert enrollment.end_reason == Enrollment.COMPLETED
    actions = MessageDecision.objects.filter(enrollment_id=enrollment.pk).order_by("id")
    assert [(d.action, d.reason) for d in actions] == [
        ("wait", "time_of_day"),
        ("wake", "timeout"),
        ("exit", "completed"),
    ]


@pytest.mark.parametrize(
    ("default_timezone", "expected"),
    [
        (None, dt.datetime(2026, 6, 10, 10, 0, tzinfo=UTC)),
        ("America/New_York", dt.datetime(2026, 6, 10, 14, 0, tzinfo=UTC)),
    ],
    ids=["no-policy-utc", "workspace-default"],
)
def test_a_customer_without_a_timezone_falls_back_as_quiet_hours_do(
    workspace, default_timezone, expected
):
    ws = workspace.workspace
    if default_timezone:
        MessagingPolicy.objects.create(workspace=ws, default_timezone=default_timezone)
    customer = Profile.objects.create(workspace=ws, traits={"timezone": "Not/AZone"})

    enrollment = parked_until(ws, customer, dt.datetime(2026, 6, 10, 6, 0, tzinfo=UTC))

    assert enrollment.next_run_at == expected


def test_only_the_given_weekdays(workspace):
    ws = workspace.workspace
    customer = Profile.objects.create(workspace=ws, traits={"timezone": "Europe/Paris"})
    saturday = dt.datetime(2026, 3, 28, 12, 0, tzinfo=UTC)

    enrollment = parked_until(ws, customer, saturday, days=["monday", "wednesday"])

    assert enrollment.next_run_at == dt.datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("node", "error"),
    [
        ({"time": "25:00"}, 'definition.nodes.morning.time: must be a local time "HH:MM"'),
        ({"time": "9:30"}, 'definition.nodes.morning.time: must be a local time "HH:MM"'),
        ({"time": 10}, 'definition.nodes.morning.time: must be a local time "HH:MM"'),
        ({"days": []}, "definition.nodes.morning.days: must be a non-empty list"),
        ({"days": ["funday"]}, "definition.nodes.morning.days[0]: must be one of monday"),
        ({"days": ["monday", "monday"]}, "definition.nodes.morning.days[1]: monday is listed"),
        ({"at": "10:00"}, "definition.nodes.morning.at: unknown field"),
    ],
    ids=["hour-25", "one-digit-hour", "not-a-string", "no-days", "not-a-day", "twice", "unknown"],
)
def test_a_bad_wait_until_is_refused_naming_the_field(workspace, node, error):
    with pytest.raises(InvalidDefinition) as refused:
        validate_definition(morning(**node), workspace=workspace.workspace)

    assert any(e.startswith(error) for e in refused.value.errors), refused.value.errors
