"""Merging two customers into one, and splitting a merge again.

Rules (docs/identity.md explains them for operators):

- A merged profile keeps its row, with ``merged_into`` pointing at its
  survivor, so that a split can bring it back.
- ``merged_into`` is always one hop: it points at a canonical profile (one
  whose ``merged_into`` is empty). Merging M into S re-points the profiles that
  were already merged into M to S. Identities and events always sit on
  canonical profiles.
- Every merge is recorded (ProfileMerge) with what a split needs: the ids of
  the identities the merged profile brought and the traits the survivor took
  from it. Events keep ``origin_profile_id``, the profile they were first
  attributed to, so a split knows which events to hand back.
- Profiles are locked (``SELECT … FOR NO KEY UPDATE``, in id order) before anything
  moves, and re-read after locking: if another worker merged one of them in
  the meantime, the canonical profile is locked instead.
"""

from django.db import transaction
from django.utils import timezone

from .locks import (
    MAX_LOCK_ATTEMPTS,
    ProfilesMoved,
    canonical_id,
    lock_canonical,
    lock_identities,
)
from .models import Identity, Profile, ProfileMerge
from .signals import profiles_merged, profiles_split
from .traits import give_back_traits, take_traits


def merge_profiles(
    *,
    survivor: Profile,
    merged: Profile,
    reason: str,
    detail: str = "",
    message_id: str = "",
) -> ProfileMerge | None:
    """Merge ``merged`` into ``survivor``; returns the merge, or None when they are one already.

    Either profile may have been merged since the caller read it: the merge
    applies to their canonical profiles. Safe to call concurrently for the
    same pair: the second caller finds them merged and returns None.
    """
    if survivor.workspace_id != merged.workspace_id:
        raise ValueError("merged: profiles of different workspaces cannot be merged")
    if reason not in dict(ProfileMerge.REASONS):
        raise ValueError(f"reason: must be one of {', '.join(dict(ProfileMerge.REASONS))}")
    with transaction.atomic():
        survivor, merged = lock_canonical(survivor.pk, merged.pk)
        if survivor.pk == merged.pk:
            return None
        return merge_locked(
            survivor=survivor, merged=merged, reason=reason, detail=detail, message_id=message_id
        )


def merge_locked(
    *, survivor: Profile, merged: Profile, reason: str, detail: str, message_id: str
) -> ProfileMerge:
    """The merge itself, for callers that already hold both canonical profiles' locks.

    One UPDATE per table, whatever the number of rows. Rows of other apps
    (events, consents, scores...) move through the ``profiles_merged`` receivers,
    in the same transaction (announced as a batch of one).
    """
    identity_ids = list(
        Identity.objects.filter(profile=merged).order_by("pk").values_list("pk", flat=True)
    )
    Identity.objects.filter(profile=merged).update(profile=survivor)
    # Keep merged_into one hop deep.
    Profile.objects.filter(merged_into=merged).update(merged_into=survivor)

    taken = combine(survivor=survivor, merged=merged)
    survivor.save(update_fields=Profile.EVENT_DRIVEN_FIELDS)
    merged.merged_into = survivor
    merged.save(update_fields=["merged_into"])

    merge = ProfileMerge.objects.create(
        workspace_id=survivor.workspace_id,
        survivor=survivor,
        merged=merged,
        reason=reason,
        detail=detail[:500],
        message_id=message_id[:100],
        identity_ids=identity_ids,
        traits_taken=taken,
        merged_at=timezone.now(),
    )
    profiles_merged.send(
        sender=ProfileMerge,
        workspace=survivor.workspace,
        pairs=[(survivor.pk, merged.pk, merge.pk)],
    )
    return merge


def combine(*, survivor: Profile, merged: Profile) -> dict:
    """What ``survivor`` takes from ``merged``, in memory: traits heard about
    more recently (latest update wins), the earlier first and later last seen
    time, a timezone and locale where it has none. Returns the traits taken
    (see ``take_traits``), for the merge's record.

    Shared by ``merge_locked`` and identity resolution, which merges a whole
    batch's profiles in memory before writing them once.
    """
    taken = take_traits(survivor=survivor, merged=merged)
    survivor.first_seen_at = _earliest(survivor.first_seen_at, merged.first_seen_at)
    survivor.last_seen_at = _latest(survivor.last_seen_at, merged.last_seen_at)
    survivor.timezone = survivor.timezone or merged.timezone
    survivor.locale = survivor.locale or merged.locale
    return taken


def split_merge(*, merge: ProfileMerge, by: str) -> Profile:
    """Undo ``merge``: the merged profile comes back with what it brought.

    Handed back from the profile that holds them now (the survivor, or the
    profile the survivor was merged into since): the identities the merged
    profile brought, and the events first attributed to it or to a profile
    merged into it (and not split off). Events that arrived after the merge
    stay where they are: they were resolved to the survivor, and nothing says
    which of the two customers sent them. Traits the survivor took are restored
    unless a later event changed them. Returns the restored profile.

    The events, and the first and last seen times they give both profiles,
    are handed back by the events app's ``profiles_split`` receiver.
    """
    with transaction.atomic():
        merge = ProfileMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.split_at is not None:
            raise ValueError(
                f"merge: merge {merge.pk} was already split on "
                f"{merge.split_at.isoformat()} by {merge.split_by or 'unknown'}"
            )
        lock_identities(merge.workspace_id, merge.identity_ids)
        for _ in range(MAX_LOCK_ATTEMPTS):
            try:
                # A savepoint per attempt, as in lock_canonical.
                with transaction.atomic():
                    holder, restored = _lock_split_pair(merge)
                break
            except ProfilesMoved:
                continue
        else:
            raise ProfilesMoved

        family = _merged_family(restored.pk)
        Identity.objects.filter(pk__in=merge.identity_ids, profile=holder).update(profile=restored)
        Profile.objects.filter(pk__in=family - {restored.pk}).update(merged_into=restored)

        give_back_traits(survivor=holder, taken=merge.traits_taken)
        restored.merged_into = None
        holder.save(update_fields=["traits", "trait_updated_at"])
        restored.save(update_fields=["merged_into"])

        merge.split_at = timezone.now()
        merge.split_by = by[:200]
        merge.save(update_fields=["split_at", "split_by"])
        profiles_split.send(
            sender=ProfileMerge,
            workspace=holder.workspace,
            pairs=[(holder.pk, restored.pk, merge.pk)],
        )
        # The events receiver saved the seen times by id, not on this object.
        restored.refresh_from_db(fields=["first_seen_at", "last_seen_at"])
        return restored


def _lock_split_pair(merge: ProfileMerge) -> tuple[Profile, Profile]:
    """Lock the profile holding what ``merge`` brought, then the merged profile.

    The merged profile points at the holder (one hop), so it is locked as it
    is, not through lock_canonical, and after the holder: a worker merging the
    holder away holds the holder while it re-points the profiles merged into
    it. Raises ProfilesMoved when either moved.
    """
    holder_id = canonical_id(merge.survivor_id)
    holder = Profile.objects.select_for_update().filter(pk=holder_id).first()
    if holder is None or holder.merged_into_id is not None:
        raise ProfilesMoved
    restored = Profile.objects.select_for_update().filter(pk=merge.merged_id).first()
    if restored is None or restored.merged_into_id != holder_id:
        raise ProfilesMoved
    return holder, restored


def _merged_family(profile_id: int) -> set[int]:
    """``profile_id`` and every profile merged into it, directly or through
    others, by merges that were not split."""
    family = {profile_id}
    frontier = {profile_id}
    while frontier:
        frontier = (
            set(
                ProfileMerge.objects.filter(
                    survivor_id__in=frontier, split_at__isnull=True
                ).values_list("merged_id", flat=True)
            )
            - family
        )
        family |= frontier
    return family


def _earliest(a, b):
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def _latest(a, b):
    return max(x for x in (a, b) if x is not None) if (a or b) else None
