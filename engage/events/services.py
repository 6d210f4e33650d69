"""Writes to the events table that other apps' operations call for.

Events depend on profiles (each event points at one), never the reverse: the
profiles app merges and splits customers without knowing the events table,
and sends ``profile_merged`` / ``profile_split``; the events app's receivers
(``receivers``) call these functions inside the same transaction.
"""

from django.db.models import Max, Min

from engage.profiles.models import Profile
from engage.profiles.selectors import merged_profile_ids

from .models import Event


def move_events(*, merged: Profile, survivor: Profile) -> int:
    """Attribute every event of ``merged`` to ``survivor``; returns how many moved.

    One UPDATE whatever the number of rows: a profile may bring 100k events.
    ``origin_profile_id`` stays, so a split can hand them back.
    """
    return Event.objects.filter(profile=merged).update(profile=survivor)


def hand_back_events(*, holder: Profile, restored: Profile) -> int:
    """Give ``restored`` back the events first attributed to it or to a profile
    merged into it; returns how many moved.

    Events resolved to ``holder`` since the merge stay: nothing says which of
    the two customers sent them. Both profiles' first and last seen times are
    then read again from the events they hold, and saved.
    """
    family = merged_profile_ids(restored)
    moved = Event.objects.filter(profile=holder, origin_profile_id__in=family).update(
        profile=restored
    )
    for profile in (holder, restored):
        seen = Event.objects.filter(profile=profile).aggregate(
            first=Min("timestamp"), last=Max("timestamp")
        )
        profile.first_seen_at, profile.last_seen_at = seen["first"], seen["last"]
        profile.save(update_fields=["first_seen_at", "last_seen_at"])
    return moved
