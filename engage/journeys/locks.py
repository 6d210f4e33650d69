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
"""

from django.db import connection

from engage.bulk import int_array
from engage.profiles.models import Profile


def hold_customers(profile_ids, *, skip_locked: bool) -> set[int]:
    """Share-lock the customers' rows until the transaction ends; returns the
    ids locked (with ``skip_locked``, not those another transaction holds).
    SQLite has one writer: all of them."""
    ids = sorted(set(profile_ids))
    if connection.vendor != "postgresql" or not ids:
        return set(ids)
    table = connection.ops.quote_name(Profile._meta.db_table)
    skip = " SKIP LOCKED" if skip_locked else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR SHARE{skip}",  # noqa: S608 - the model's table
            [int_array(ids)],
        )
        return {row[0] for row in cursor.fetchall()}
