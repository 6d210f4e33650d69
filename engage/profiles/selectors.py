"""Reads behind the single customer view (API and admin).

Every function takes the workspace explicitly, so no caller can forget the
tenant: a profile of another workspace is simply not found.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from engage.events.models import Event
from engage.events.quarantine import load_events
from engage.workspaces.models import Workspace

from .identifiers import normalize
from .models import Identity, Profile, ProfileMerge

# A merge chain longer than this is a bug elsewhere; stop instead of looping.
MAX_MERGE_DEPTH = 50


def canonical_profile(*, workspace: Workspace, profile_id: int) -> Profile | None:
    """The profile ``profile_id`` now lives in, or None.

    A merged profile keeps its row and points at its survivor; callers holding
    an old id (a CRM that stored it before the merge) still get the customer.
    """
    profile = Profile.objects.filter(workspace=workspace, pk=profile_id).first()
    for _ in range(MAX_MERGE_DEPTH):
        if profile is None or profile.merged_into_id is None:
            return profile
        profile = Profile.objects.filter(workspace=workspace, pk=profile.merged_into_id).first()
    return profile


def profile_by_identifier(*, workspace: Workspace, kind: str, value) -> Profile | None:
    """The canonical profile holding the identifier, normalized as resolution does.

    Raises ``InvalidIdentifier`` for a value that could never have been stored
    (a malformed email or phone), so the caller can say why instead of 404.
    """
    normalized = normalize(kind, value, phone_region=workspace.default_phone_region)
    identity = (
        Identity.objects.filter(workspace=workspace, kind=kind, value=normalized)
        .only("profile_id")
        .first()
    )
    if identity is None:
        return None
    return canonical_profile(workspace=workspace, profile_id=identity.profile_id)


def merged_profile_ids(profile: Profile) -> list[int]:
    """Ids of ``profile`` and of every profile merged into it, directly or not."""
    ids = [profile.pk]
    frontier = [profile.pk]
    for _ in range(MAX_MERGE_DEPTH):
        frontier = list(
            Profile.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)
        )
        if not frontier:
            break
        ids.extend(frontier)
    return ids


# --- the timeline ------------------------------------------------------------


@dataclass(frozen=True)
class TimelineCursor:
    """A position in a timeline: the (timestamp, id) of an event, and a direction.

    Keyset pagination instead of offsets: page 1,000 of a 100k-event timeline
    costs the same as page 1, and no COUNT(*) is needed.
    """

    timestamp: datetime
    event_id: int
    reverse: bool = False  # True: the page *before* this position (newer events)

    def encode(self) -> str:
        raw = json.dumps([self.timestamp.isoformat(), self.event_id, int(self.reverse)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "TimelineCursor":
        """Raises ValueError for a token this class did not produce."""
        try:
            padded = token + "=" * (-len(token) % 4)
            timestamp, event_id, reverse = json.loads(base64.urlsafe_b64decode(padded))
            return cls(datetime.fromisoformat(timestamp), int(event_id), bool(reverse))
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise ValueError("cursor: not a cursor returned by this endpoint") from exc


def timeline(
    *,
    profile: Profile,
    cursor: TimelineCursor | None = None,
    limit: int,
    event_type: str = "",
    event_name: str = "",
) -> tuple[list[Event], bool]:
    """One page of ``profile``'s events, newest first, and whether more follow.

    The query is ``profile_id = X AND timestamp <= T ... ORDER BY timestamp DESC,
    id DESC LIMIT n``, which the ``event_timeline`` index (profile, -timestamp,
    -id) answers by reading only the rows it returns.

    An event that cannot be loaded or shown comes back as quarantined, without
    its payload (``quarantine.load_events``), so one bad row cannot make a
    customer's timeline fail.
    """
    events = Event.objects.filter(profile=profile)
    if event_type:
        events = events.filter(type=event_type)
    if event_name:
        events = events.filter(name=event_name)
    if cursor is None:
        page = load_events(events.order_by("-timestamp", "-id")[: limit + 1])
        return page[:limit], len(page) > limit
    t, i = cursor.timestamp, cursor.event_id
    if cursor.reverse:
        # Newer than the cursor, read oldest-first from it, then flipped.
        after = Q(timestamp__gte=t) & (Q(timestamp__gt=t) | Q(id__gt=i))
        page = load_events(events.filter(after).order_by("timestamp", "id")[: limit + 1])
        more = len(page) > limit
        return list(reversed(page[:limit])), more
    before = Q(timestamp__lte=t) & (Q(timestamp__lt=t) | Q(id__lt=i))
    page = load_events(events.filter(before).order_by("-timestamp", "-id")[: limit + 1])
    return page[:limit], len(page) > limit


def customer_view(profile: Profile) -> Profile:
    """``profile`` with what the single customer view shows attached.

    Sets ``identity_list`` (sorted), ``merged_ids`` (profiles merged into it)
    and ``merge_history``; three queries whatever the profile's size.
    """
    ids = merged_profile_ids(profile)
    profile.merged_ids = ids[1:]
    profile.identity_list = list(profile.identities.order_by("kind", "value"))
    profile.merge_history = list(
        ProfileMerge.objects.filter(survivor_id__in=ids).order_by("-merged_at", "-id")
    )
    return profile
