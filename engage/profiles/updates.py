"""What an event changes on the profile it was resolved to.

Traits (latest update per trait wins, see ``traits``), first and last seen,
timezone and locale. Processing calls it for each event once resolution has
found the profile; the rules are the profiles app's, so they live here and
take the event's fields as plain values.
"""

from datetime import datetime

from .models import Profile
from .traits import apply_traits

# Context values kept on the profile, cut to their column's width.
CONTEXT_FIELDS = tuple(
    (name, Profile._meta.get_field(name).max_length) for name in ("timezone", "locale")
)


def apply_event(*, profile: Profile, event_type: str, timestamp: datetime, traits, context) -> None:
    """Apply an event of ``event_type`` that happened at ``timestamp`` to ``profile``.

    ``traits`` are the event's traits (read on identify calls only: a group
    call's traits describe the group); ``context`` its context, whose
    ``traits``, ``timezone`` and ``locale`` apply to any call. A timezone or
    locale replaces the profile's only from its newest event, so a late event
    cannot undo a newer one. In memory only: the caller saves the profile
    (``Profile.EVENT_DRIVEN_FIELDS``), at once or with its batch.
    """
    context = context if isinstance(context, dict) else {}
    newest = profile.last_seen_at is None or timestamp >= profile.last_seen_at
    if event_type == "identify" and isinstance(traits, dict):
        apply_traits(profile=profile, traits=traits, at=timestamp)
    if isinstance(context.get("traits"), dict):
        apply_traits(profile=profile, traits=context["traits"], at=timestamp)
    for name, limit in CONTEXT_FIELDS:
        value = context.get(name)
        if isinstance(value, str) and value.strip() and (newest or not getattr(profile, name)):
            setattr(profile, name, value.strip()[:limit])
    if profile.first_seen_at is None or timestamp < profile.first_seen_at:
        profile.first_seen_at = timestamp
    if newest:
        profile.last_seen_at = timestamp
