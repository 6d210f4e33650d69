"""Customers' rows share-locked before journeys write for them.

A ledger row (and a message) refers to its customer, and PostgreSQL checks
that reference at commit by share-locking the customer's row. Processing
holds its customers' rows locked (``FOR UPDATE``) while it merges them, and
the merge then moves their enrollments, waiting for whoever holds those.
A journey transaction holding enrollments that reached that check would
wait for processing in turn: a circle, which PostgreSQL breaks by aborting
one side. So journeys take that share lock first: the engine without
waiting (``FOR KEY SHARE SKIP LOCKED``: it already holds the enrollments it
claimed, and puts back those whose customer is busy), a goal before it
locks any enrollment (processing's order: customers, then enrollments).
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
            f"SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR KEY SHARE{skip}",  # noqa: S608 - the model's table
            [int_array(ids)],
        )
        return {row[0] for row in cursor.fetchall()}
