"""A re-check that PostgreSQL aborts as a deadlock's victim runs again.

A full refresh holds its segment's row while it inserts the stays of the
customers entering; a re-check round inserts first and takes the rows of the
segments it changed last. When both enter the same customer they wait on
each other, and PostgreSQL aborts one of them; when it is the re-check, the
customers only it was entering must still enter.
"""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from engage.events.models import Event
from engage.segments import realtime
from engage.segments.models import Segment, SegmentMembership
from engage.segments.services import save_segment
from tests.customer_factories import ProfileFactory

pytestmark = pytest.mark.django_db(transaction=True)

PRO = {"trait": {"key": "plan", "op": "equals", "value": "pro"}}


def full_refresh_entering(segment: Segment, profile_id: int, ready: threading.Event, errors):
    """What a full refresh does, paused where the deadlock needs it: hold the
    segment's row, wait until the re-check queues behind it, then enter the
    customer the re-check entered first (and wait for its stay)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # The re-check, not this transaction, notices the deadlock first.
            cursor.execute("SET LOCAL deadlock_timeout = '30s'")
            cursor.execute("SELECT 1 FROM segments_segment WHERE id = %s FOR UPDATE", [segment.pk])
            ready.set()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database() AND pid <> pg_backend_pid()"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.02)
            else:
                raise AssertionError("the re-check never queued behind the segment's row")
            cursor.execute(
                "INSERT INTO segments_segmentmembership (segment_id, profile_id, entered_at)"
                " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                [segment.pk, profile_id, timezone.now()],
            )
    except Exception as exc:  # reported to the test's thread
        errors.append(exc)
    finally:
        connection.close()


def test_a_recheck_aborted_by_a_deadlock_with_a_full_refresh_runs_again(workspace):
    ws = workspace.workspace
    segment = save_segment(workspace=ws, name="pro", rules=PRO)
    both = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    only_recheck = ProfileFactory(workspace=ws, traits={"plan": "pro"})
    ready, errors = threading.Event(), []
    refresh = threading.Thread(target=full_refresh_entering, args=(segment, both.pk, ready, errors))
    refresh.start()
    assert ready.wait(10)

    realtime.recheck(
        workspace_id=ws.pk, profile_ids=[both.pk, only_recheck.pk], segment_ids=[segment.pk]
    )
    refresh.join(30)

    assert not errors, errors
    current = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
    assert sorted(current.values_list("profile_id", flat=True)) == sorted(
        [both.pk, only_recheck.pk]
    )
    entered = Event.objects.filter(name="segment_entered", properties__segment_id=segment.pk)
    assert list(entered.values_list("profile_id", flat=True)) == [only_recheck.pk]
