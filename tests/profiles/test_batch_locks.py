"""A processing batch whose customer another transaction holds, on PostgreSQL.

A batch locks every profile it found in one statement that waits for nobody
(``SKIP LOCKED``); when another transaction holds one of them (an operator's
merge, a split, an erasure), it locks them one by one instead, waiting, and
looks again if the profile was merged away meanwhile. What a user notices:
the event still lands on the customer, as the other transaction left it,
without the batch rolling back on "repeated conflicts" (a warning in the
log, and a worker spinning meanwhile).
"""

import threading
import time

import pytest
from django.db import connection, transaction

from engage.events.models import Event
from engage.events.processing import process_pending
from engage.profiles.merge import merge_locked
from engage.profiles.models import Identity, Profile, ProfileMerge
from tests.identity_helpers import identities, pending_event, profile_of, send

pytestmark = pytest.mark.usefixtures("transactional_db")

HOLD_SECONDS = 0.5


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")


def processing_in_background() -> tuple[threading.Thread, list]:
    finished: list = []

    def work():
        try:
            finished.append((process_pending(), time.monotonic()))
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread, finished


def no_conflicts_logged(caplog) -> bool:
    return not [r for r in caplog.records if "conflict" in r.getMessage()]


def test_a_batch_waits_for_a_profile_another_transaction_holds(workspace, caplog):
    ws = workspace.workspace
    ada = send(ws, "identify", user_id="ada", anonymous_id="phone").profile
    event = pending_event(ws, "identify", user_id="ada", traits={"plan": "pro"})

    with transaction.atomic():
        Profile.objects.select_for_update().get(pk=ada.pk)
        thread, finished = processing_in_background()
        time.sleep(HOLD_SECONDS)
        assert not finished  # waiting for the lock, not going around it
        released = time.monotonic()
    thread.join(timeout=30)

    assert finished and finished[0][0] == 1 and finished[0][1] >= released
    event.refresh_from_db()
    assert event.profile_id == ada.pk
    assert Profile.objects.get(pk=ada.pk).traits["plan"] == "pro"
    assert no_conflicts_logged(caplog)


def test_a_profile_merged_away_while_the_batch_waited_sends_its_events_to_the_survivor(
    workspace, caplog
):
    ws = workspace.workspace
    known = send(ws, "identify", user_id="ada").profile
    device = send(ws, anonymous_id="laptop").profile
    event = pending_event(ws, anonymous_id="laptop", traits={"plan": "pro"}, name="Opened")

    with transaction.atomic():
        survivor, merged = (
            Profile.objects.select_for_update().filter(pk__in=[known.pk, device.pk]).order_by("pk")
        )
        thread, finished = processing_in_background()
        time.sleep(HOLD_SECONDS)
        merge_locked(
            survivor=survivor,
            merged=merged,
            reason=ProfileMerge.MANUAL,
            detail="operator",
            message_id="",
        )
    thread.join(timeout=30)

    assert finished and finished[0][0] == 1
    event.refresh_from_db()
    assert event.profile_id == known.pk
    assert event.origin_profile_id == known.pk
    assert identities(profile_of(ws, Identity.ANONYMOUS_ID, "laptop")) == {
        (Identity.USER_ID, "ada"),
        (Identity.ANONYMOUS_ID, "laptop"),
    }
    assert not Event.objects.filter(profile=device).exists()
    assert no_conflicts_logged(caplog)
