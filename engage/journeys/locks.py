"""Customers' rows share-locked before journeys act for them.

Processing holds its customers' rows (``FOR NO KEY UPDATE``) while it
resolves and merges them, and a merge moves their enrollments, messages and
ledger rows to the survivor, waiting for whoever holds those. A journey
step that went on for a customer being merged would write for the profile
merged away; one holding enrollments while it waited for the customer
would close a circle with the merge, which PostgreSQL breaks by aborting
one side. So journeys take a share lock on the customers first (``FOR
SHARE``, which processing's lock excludes): the engine without waiting
(``SKIP LOCKED``: it already holds the enrollments it claimed, and puts back
those whose customer is busy), a goal before it locks any enrollment
(processing's order: customers, then enrollments).

The references themselves (a ledger row's, a message's) are checked at
commit with ``FOR KEY SHARE``, which processing's lock lets through: writers
that only refer to a customer never wait for processing, nor it for them.

Entries into the same journeys do not wait for each other either
(``lock_journeys``, ``hold_entries``): they share-lock the journeys' rows,
which a pause, a stop or a publish (``FOR UPDATE``) excludes, and take
turns only where the rules need it: per customer, so that two entries of
one customer cannot both pass the re-entry rules, and per journey only for
a ``daily_limit``, whose count would otherwise be read by both. They lock
in that order (journeys, limits in id order, customers in key order), so
entries cannot deadlock. An entry of more than ``MAX_CUSTOMER_LOCKS``
customers takes its journeys ``FOR UPDATE`` instead, and nothing else.
"""

from django.db import connection

from engage.bulk import int_array
from engage.events.signals import ANNOUNCE_CHUNK
from engage.profiles.models import Profile

from .models import Journey


def hold_customers(profile_ids, *, skip_locked: bool) -> set[int]:
    """Share-lock the customers' rows until the transaction ends; returns the
    ids locked (with ``skip_locked``, not those another transaction holds).
    SQLite has one writer: all of them."""
    ids = set(profile_ids)
    if connection.vendor != "postgresql" or not ids:
        return ids
    return _lock_rows(Profile, ids, "SHARE SKIP LOCKED" if skip_locked else "SHARE")


def _lock_rows(model, ids, mode: str) -> set[int]:
    """``SELECT … FOR <mode>`` of the rows of ``ids``, in id order (so that
    two transactions locking overlapping sets cannot deadlock); returns the
    ids locked."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR {mode}",  # noqa: S608 - a model's table and a fixed mode
            [int_array(sorted(ids))],
        )
        return {row[0] for row in cursor.fetchall()}


# Namespaces of the two-key advisory locks entries take (scoring uses 0x5C0E).
ENTRY_CUSTOMER_KEY = 0x3E7C
ENTRY_DAILY_LIMIT_KEY = 0x3E7D
# An entry of more customers takes its journeys alone instead of a lock per
# customer: advisory locks fill PostgreSQL's shared lock table
# (max_locks_per_transaction times the connections, about 7,800 by
# default), and entries that large (a broadcast's slice, a refreshed
# segment's chunk of entries) are few enough to wait for each other.
# Processing announces its events in chunks of this size, after its own
# locks are gone, so its entries always lock per customer and two workers'
# entries into one journey go on side by side.
MAX_CUSTOMER_LOCKS = ANNOUNCE_CHUNK


def lock_journeys(journey_ids, *, alone: bool) -> None:
    """Lock the journeys' rows until the transaction ends, shared, or
    ``alone`` (``FOR UPDATE``: no other entry into them meanwhile, which then
    needs no other lock). The first of an entry's locks. SQLite has one
    writer: nothing to take."""
    if connection.vendor == "postgresql":
        _lock_rows(Journey, journey_ids, "UPDATE" if alone else "SHARE")


def hold_entries(*, limited, profile_ids) -> None:
    """Take the daily-limit lock of the ``limited`` journeys, then each
    customer's entry lock, until the transaction ends."""
    if connection.vendor != "postgresql":
        return
    # Advisory keys are 32-bit: customers 2**31 ids apart share one, which
    # only makes their entries take turns.
    customers = {profile_id % 2**31 for profile_id in profile_ids}
    with connection.cursor() as cursor:
        for key, ids in ((ENTRY_DAILY_LIMIT_KEY, limited), (ENTRY_CUSTOMER_KEY, customers)):
            if ids:
                cursor.execute(
                    "SELECT count(pg_advisory_xact_lock(%s, k)) FROM "
                    "(SELECT unnest(%s::int[]) AS k ORDER BY 1) AS keys",
                    [key, int_array(sorted(ids))],
                )
