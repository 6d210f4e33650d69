"""Python's garbage collector does not run in the middle of a batch.

A batch keeps thousands of objects alive while it runs; collections then
promote them until a full collection walks the whole process, which cost
the worker up to a quarter of its CPU per event.
"""

import gc

from engage.events.processing import process_pending
from engage.events.signals import events_processed
from tests.identity_helpers import pending_event


def test_the_collector_is_paused_during_a_batch_and_on_again_after(workspace):
    ws = workspace.workspace
    for n in range(3):
        pending_event(ws, "identify", anonymous_id=f"a-{n}", traits={"email": f"c{n}@example.com"})
    during = []

    def receiver(sender, **kwargs):
        during.append(gc.isenabled())

    events_processed.connect(receiver, weak=False)
    try:
        assert process_pending() == 3
    finally:
        events_processed.disconnect(receiver)

    assert during == [False]
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off(workspace):
    pending_event(workspace.workspace, anonymous_id="a")
    gc.disable()
    try:
        assert process_pending() == 1
        assert not gc.isenabled()
    finally:
        gc.enable()
