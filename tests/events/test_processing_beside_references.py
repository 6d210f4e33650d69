"""Processing beside the writers that only refer to its customers.

Every row that refers to a customer (a segment stay, an enrollment, a
ledger row, a message) is checked by PostgreSQL with a ``FOR KEY SHARE``
lock on the customer's row. Processing's lock on its customers lets that
through: neither waits for the other. It once took ``FOR UPDATE``, so a
batch meeting such a check skipped the customer, fell back to locking its
customers one by one and waited for the other transaction to end.
"""

import threading

import psycopg
import pytest
from django.db import connection

from engage.events.processing import process_pending
from engage.journeys.locks import hold_customers
from tests.identity_helpers import pending_event, profile_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer)")


@pytest.fixture
def other_transaction():
    """A second connection, in a transaction until the test ends."""
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )
    yield other
    other.rollback()
    other.close()


def test_a_batch_does_not_wait_for_a_transaction_referring_to_its_customer(
    workspace, other_transaction
):
    ws = workspace.workspace
    pending_event(ws, "identify", anonymous_id="a", traits={"plan": "free"})
    assert process_pending() == 1
    ann = profile_of(ws, "anonymous_id", "a")
    # What the check of a new row referring to Ann holds until its commit.
    other_transaction.execute(
        "SELECT id FROM profiles_profile WHERE id = %s FOR KEY SHARE", [ann.pk]
    )
    pending_event(ws, "identify", anonymous_id="a", traits={"plan": "pro"})
    processed = []

    def work():
        try:
            processed.append(process_pending())
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(10)
    waited = worker.is_alive()
    other_transaction.rollback()  # lets a waiting batch go on
    worker.join(30)

    assert not waited, "the batch waited for a transaction only referring to its customer"
    assert processed == [1]
    assert profile_of(ws, "anonymous_id", "a").traits["plan"] == "pro"


def test_a_journey_step_still_skips_a_customer_processing_holds(workspace, other_transaction):
    ws = workspace.workspace
    pending_event(ws, "identify", anonymous_id="a")
    pending_event(ws, "identify", anonymous_id="b")
    assert process_pending() == 2
    ann, bob = profile_of(ws, "anonymous_id", "a"), profile_of(ws, "anonymous_id", "b")
    # What processing holds on the customers of its batch.
    other_transaction.execute(
        "SELECT id FROM profiles_profile WHERE id = %s FOR NO KEY UPDATE", [ann.pk]
    )

    assert hold_customers([ann.pk, bob.pk], skip_locked=True) == {bob.pk}
