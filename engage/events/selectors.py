"""Reads of the events table that other apps' pages show.

``timeline`` is the customer's event timeline on the single customer view
(the profiles API and admin): it lives here, with the table it reads, so the
profiles app never imports the events app (events depend on profiles).
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from engage.profiles.models import Profile

from .models import Event
from .quarantine import load_events


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
