"""A batch is resolved in a fixed number of statements, whatever its size.

What an operator notices is throughput: a statement per event is a round trip
per event. The count here is the same for a batch of 10 customers as for one
of 40, with merges or without, so a change that adds a per-event or
per-merge query fails this test.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.events.models import Event
from engage.events.processing import run
from engage.profiles.models import Profile, ProfileMerge
from tests.identity_helpers import pending_event


def customers(ws, count: int, *, second_device: bool) -> None:
    """Each customer browses, signs in, and (``second_device``) signs in on another device."""
    for n in range(count):
        pending_event(ws, anonymous_id=f"phone-{n}")
        pending_event(
            ws,
            "identify",
            user_id=f"u-{n}",
            anonymous_id=f"phone-{n}",
            traits={"email": f"c{n}@example.com", "plan": "pro"},
        )
        if second_device:
            pending_event(ws, anonymous_id=f"laptop-{n}")
            pending_event(ws, "identify", user_id=f"u-{n}", anonymous_id=f"laptop-{n}")


def statements_for(make_workspace, name: str, count: int, *, second_device: bool) -> int:
    ws = make_workspace(name).workspace
    customers(ws, count, second_device=second_device)
    with CaptureQueriesContext(connection) as queries:
        outcome = run(batch_size=1000)
    assert outcome.processed == Event.objects.filter(workspace=ws).count()
    assert Profile.objects.filter(workspace=ws, merged_into__isnull=True).count() == count
    assert ProfileMerge.objects.filter(workspace=ws).count() == (count if second_device else 0)
    return len(queries)


def test_new_customers_take_the_same_statements_for_10_as_for_40(make_workspace):
    few = statements_for(make_workspace, "few", 10, second_device=False)
    many = statements_for(make_workspace, "many", 40, second_device=False)

    assert many == few


def test_merges_take_the_same_statements_for_10_as_for_40(make_workspace):
    few = statements_for(make_workspace, "few", 10, second_device=True)
    many = statements_for(make_workspace, "many", 40, second_device=True)

    assert many == few
