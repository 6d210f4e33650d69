"""Processing loads its claimed events without the ORM; they must be the ORM's events.

A value read differently (a time a microsecond off or in another zone, a
float turned into an int, a nested property lost) would be written back to
the event or onto the customer's profile, so every column of varied rows is
compared with what the ORM loads.
"""

import datetime as dt

import pytest
from django.db import connection, transaction

from engage.events import rows
from engage.events.models import Event
from tests.identity_helpers import pending_event

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite loads claimed events through the ORM"
)

ODD_TIME = dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=dt.UTC)


@pytest.fixture
def varied(workspace):
    plain = pending_event(workspace.workspace, user_id="u-1")
    odd = pending_event(
        workspace.workspace,
        "identify",
        user_id='ü-2 "quoted" \\ back',
        anonymous_id="a-2",
        traits={"score": 1.0, "n": 3, "nested": {"list": [1, "two", None, True]}, "e": "é😀"},
        context={"timezone": "Europe/Paris", "ip": "192.0.2.1"},
        properties={"big": 12345678901234567890, "tiny": 1e-300},
        at=ODD_TIME,
    )
    Event.objects.filter(pk=odd.pk).update(
        original_timestamp=ODD_TIME - dt.timedelta(microseconds=1),
        sent_at=ODD_TIME.replace(year=1, month=1, day=2),
        warnings=["kept"],
        channel="web",
    )
    return [plain.pk, odd.pk]


def test_claimed_events_hold_every_column_as_the_orm_loads_it(varied):
    with transaction.atomic():
        claimed = rows.claim(10)
    expected = list(Event.objects.filter(pk__in=varied).order_by("pk"))

    assert [e.pk for e in claimed] == varied
    for mine, theirs in zip(claimed, expected, strict=True):
        for attname in rows.ALL:
            assert getattr(mine, attname) == getattr(theirs, attname), attname
            assert type(getattr(mine, attname)) is type(getattr(theirs, attname)), attname
        assert mine.timestamp.utcoffset() == dt.timedelta(0)


def test_older_pending_events_load_what_is_asked_and_the_rest_on_access(varied):
    first, second = varied

    older = rows.pending_before(second + 1, [second], ["workspace_id", "user_id", "traits"])

    assert [e.pk for e in older] == [first]
    assert older[0].user_id == "u-1"
    assert older[0].get_deferred_fields() >= {"properties", "timestamp"}
    assert older[0].timestamp == Event.objects.get(pk=first).timestamp
