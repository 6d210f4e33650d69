"""Locks that keep concurrent workers from resolving or merging the same customer twice.

Two kinds, always taken in this order within a transaction:

- identifier locks (``lock_identifiers``): a PostgreSQL transaction-level
  advisory lock per (workspace, kind, value), taken before an identifier is
  looked up, attached or moved, so that two workers cannot both create a
  profile for it or move it at once;
- profile row locks (``try_lock_profiles``, ``lock_profiles``,
  ``lock_canonical``): ``SELECT … FOR NO KEY UPDATE`` on canonical
  profiles, in id order, re-read once locked, so that a profile merged away
  meanwhile is noticed (``ProfilesMoved``) and the lookup starts again.
  Not ``FOR UPDATE``: that also excludes the ``FOR KEY SHARE`` with which
  PostgreSQL checks every row referring to the profile (a segment stay, an
  enrollment, a ledger row), so processing and the writers downstream of
  it waited on each other, and a batch meeting one such row fell back to
  locking its profiles one by one (the pipeline benchmark: a flat backlog
  at 3,000 events/s instead of a growing one). Nothing here changes a
  profile's key; erasure, which deletes, still waits for these locks.

Resolution, merging, splitting and erasure all take them, so they live in
one module that each of those imports.
"""

import hashlib

from django.db import connection, transaction

from engage import json_rows
from engage.bulk import int_array

from .models import Identity, Profile

_PROFILE_FIELDS = [field.attname for field in Profile._meta.concrete_fields]

# How often the canonical profiles are looked up again when a concurrent merge
# moves them while we wait for their locks. Each retry follows at least one
# merge that committed, so a handful is plenty.
MAX_LOCK_ATTEMPTS = 10


class ProfilesMoved(Exception):
    """A profile we locked was merged by someone else meanwhile; look again."""


class ProfilesBusy(Exception):
    """Another transaction holds one of the profiles; lock them one by one instead."""


def lock_key(workspace_id: int, kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"{workspace_id}\x1f{kind}\x1f{value}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def lock_identifiers(workspace_id: int, pairs) -> None:
    """Hold, until the transaction ends, a lock per (kind, value) on PostgreSQL.

    Sorted, so that two transactions locking overlapping sets cannot deadlock.
    Other databases run one writer at a time and need none.
    """
    # A batch's events repeat their identifiers: each is hashed once.
    keys = sorted({lock_key(workspace_id, kind, value) for kind, value in set(pairs)})
    if not keys or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k "
            "ORDER BY 1) AS keys",
            [int_array(keys)],
        )


def lock_identities(workspace_id: int, identity_ids) -> None:
    """Take the identifier locks of identities that are about to move."""
    pairs = Identity.objects.filter(pk__in=identity_ids).values_list("kind", "value")
    lock_identifiers(workspace_id, list(pairs))


def canonical_id(profile_id: int) -> int:
    merged_into = (
        Profile.objects.filter(pk=profile_id).values_list("merged_into_id", flat=True).first()
    )
    return merged_into or profile_id


def lock_profiles(profile_ids) -> dict[int, Profile]:
    """Lock canonical profiles one by one in id order (so two workers cannot deadlock on them).

    Raises ProfilesMoved as soon as one of them, once locked, is no longer
    canonical or no longer exists: the caller looks the canonical profiles up
    again. Call it in a savepoint that the exception rolls back, so that the
    rows already locked are released: the worker that merged the profile away
    may still need to re-point profiles merged into it, and holding it while
    waiting for the next row would deadlock with that worker.
    """
    locked = {}
    for pk in sorted(set(profile_ids)):
        profile = Profile.objects.select_for_update(no_key=True).filter(pk=pk).first()
        if profile is None or profile.merged_into_id is not None:
            raise ProfilesMoved
        locked[pk] = profile
    return locked


def try_lock_profiles(profile_ids) -> dict[int, Profile]:
    """Lock canonical profiles in one statement when no other transaction holds any of them.

    The common case of a processing batch, which locks every profile it found
    at once: one statement whatever their number. ``SKIP LOCKED`` makes it
    wait for nobody: waiting inside one statement would hold the rows locked
    so far even once one of them turned out merged away, and the worker that
    merged it may need to re-point it (see ``lock_profiles``). Raises
    ProfilesBusy when a row was skipped (or is gone): the caller rolls back its
    savepoint and locks them one by one; ProfilesMoved when one is no longer
    canonical.
    """
    ids = set(profile_ids)
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        # Without the ORM (see engage.json_rows): a batch locks hundreds.
        found = json_rows.load(
            Profile,
            _PROFILE_FIELDS,
            f"SELECT {json_rows.select_list(Profile, _PROFILE_FIELDS)} "  # noqa: S608
            f"FROM {connection.ops.quote_name(Profile._meta.db_table)} "
            "WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED",
            [int_array(sorted(ids))],
        )
    else:
        found = Profile.objects.select_for_update(skip_locked=True, no_key=True).filter(pk__in=ids)
        found = found.order_by("pk")
    locked = {profile.pk: profile for profile in found}
    if len(locked) != len(ids):
        raise ProfilesBusy
    if any(profile.merged_into_id is not None for profile in locked.values()):
        raise ProfilesMoved
    return locked


def lock_canonical(*profile_ids: int) -> list[Profile]:
    """The canonical profiles of ``profile_ids``, locked, in the same order."""
    for _ in range(MAX_LOCK_ATTEMPTS):
        canonical = [canonical_id(pk) for pk in profile_ids]
        try:
            # A savepoint per attempt: a failed attempt must release the rows
            # it locked, or the next attempt would lock out of id order and
            # deadlock with a worker merging the profiles the other way round.
            with transaction.atomic():
                locked = lock_profiles(canonical)
        except ProfilesMoved:
            continue
        return [locked[pk] for pk in canonical]
    raise ProfilesMoved
