"""The engine runs a batch in a fixed number of statements, whatever its size.

A batch claims its enrollments, share-locks their customers, then writes the
enrollments, the ledger rows and the per-node counts once each: a statement
per enrollment would be a round trip per customer entering or waking. Here
200 customers cost what 20 do, parking at a wait and then waking to exit.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.journeys import engine
from engage.journeys.models import Enrollment
from engage.messaging.models import MessageDecision
from tests.customer_factories import ProfileFactory

from .factories import WAIT_THEN_EXIT, live_journey
from .walking import T0, enroll

pytestmark = pytest.mark.django_db

UNTIL = T0 + dt.timedelta(hours=1)


def statements(ws, size: int) -> tuple[int, int]:
    """The statements of the batch that parks ``size`` new customers at the
    wait, and of the one that wakes them and lets them out."""
    journey = live_journey(ws, WAIT_THEN_EXIT, name=f"journey of {size}")
    enroll(journey, ProfileFactory.create_batch(size, workspace=ws))
    with CaptureQueriesContext(connection) as parking:
        assert engine.advance(now=T0) == size
    with CaptureQueriesContext(connection) as leaving:
        assert engine.advance(now=UNTIL) == size
    ended = Enrollment.objects.filter(journey=journey, end_reason=Enrollment.COMPLETED)
    assert ended.count() == size
    rows = MessageDecision.objects.filter(journey_id=journey.pk)
    assert rows.count() == 3 * size  # wait, wake, exit
    return len(parking), len(leaving)


def test_a_batch_of_200_takes_the_statements_of_a_batch_of_20(workspace):
    ws = workspace.workspace

    assert statements(ws, 200) == statements(ws, 20)
