"""Writes to the events table that other apps' operations call for.

Events depend on profiles (each event points at one), never the reverse: the
profiles app merges and splits customers without knowing the events table,
and sends ``profiles_merged`` / ``profiles_split``; the events app's receivers
(``receivers``) call these functions inside the same transaction.
"""

from django.db.models import Max, Min

from engage.profiles import repoint
from engage.profiles.models import Profile

from .models import Event


def move_events(*, pairs: list[tuple[int, int, int]]) -> int:
    """Attribute the events of every merged profile in ``pairs`` to its
    survivor; returns how many moved.

    One UPDATE whatever the number of rows or pairs: a profile may bring 100k
    events. ``origin_profile_id`` stays, so a split can hand them back.
    """
    target = repoint.survivors(pairs)
    return Event.objects.filter(profile_id__in=target).update(profile_id=repoint.moved_to(target))


def hand_back_events(*, pairs: list[tuple[int, int, int]]) -> int:
    """Give each restored profile in ``pairs`` back the events first attributed
    to it or to a profile merged into it; returns how many moved.

    Events resolved to the holder since the merge stay: nothing says which of
    the two customers sent them. Every profile's first and last seen times are
    then read again from the events it holds, and saved.
    """
    rows, new_profile = repoint.handed_back(pairs)
    moved = Event.objects.filter(rows).update(profile_id=new_profile)
    profile_ids = {pk for holder_id, restored_id, _ in pairs for pk in (holder_id, restored_id)}
    seen = {
        row["profile_id"]: row
        for row in Event.objects.filter(profile_id__in=profile_ids)
        .values("profile_id")
        .annotate(first=Min("timestamp"), last=Max("timestamp"))
    }
    profiles = list(Profile.objects.filter(pk__in=profile_ids))
    for profile in profiles:
        profile.first_seen_at = seen.get(profile.pk, {}).get("first")
        profile.last_seen_at = seen.get(profile.pk, {}).get("last")
    Profile.objects.bulk_update(profiles, ["first_seen_at", "last_seen_at"])
    return moved
