"""Set-based re-pointing of rows after a batch of merges or splits.

A receiver of ``profiles_merged`` turns the announced pairs into one mapping
(merged id → the survivor it ends at) and moves its rows with a single
``UPDATE … SET profile_id = CASE …``: the statement count stays the same
whether the batch held one merge or a thousand. ``Case(When(...))`` compiles
the same on PostgreSQL and SQLite.
"""

from collections.abc import Iterable

from django.db.models import BigIntegerField, Case, Q, Value, When

from .models import Profile


def survivors(pairs: Iterable[tuple[int, int, int]]) -> dict[int, int]:
    """Each merged profile id mapped to the survivor its rows end with.

    Pairs come in merge order; when C merged into B and then B into A in one
    batch, C's rows go straight to A, so no row is left on a merged profile.
    """
    target: dict[int, int] = {}
    for survivor_id, merged_id, _merge_id in pairs:
        target[merged_id] = survivor_id
        for moved, held_by in target.items():
            if held_by == merged_id:
                target[moved] = survivor_id
    return target


def moved_to(mapping: dict[int, int], field: str = "profile_id") -> Case:
    """The new value of ``field`` for rows whose ``field`` is a key of ``mapping``."""
    return Case(
        *(When(**{field: old}, then=Value(new)) for old, new in mapping.items()),
        output_field=BigIntegerField(),
    )


def handed_back(pairs: Iterable[tuple[int, int, int]]) -> tuple[Q, Case]:
    """Which rows a batch of splits gives back, and the profile each goes to.

    A row goes back when it sits on the holder and was first written for the
    restored profile or for a profile merged into it (``origin_profile_id``);
    rows written for the holder stay. Returns the filter and the new
    ``profile_id``, for one UPDATE per table. Runs one query, to find the
    profiles merged into the restored ones (``merged_into`` is one hop).
    """
    holder_of = {restored_id: holder_id for holder_id, restored_id, _merge_id in pairs}
    family = {restored_id: restored_id for restored_id in holder_of}
    family.update(
        Profile.objects.filter(merged_into_id__in=holder_of).values_list("pk", "merged_into_id")
    )
    rows = Q(pk__in=[])
    whens = []
    for origin_id, restored_id in family.items():
        row = Q(profile_id=holder_of[restored_id], origin_profile_id=origin_id)
        rows |= row
        whens.append(When(row, then=Value(restored_id)))
    return rows, Case(*whens, output_field=BigIntegerField())
