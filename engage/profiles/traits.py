"""Traits: the latest update wins, per trait.

Each profile keeps, next to its traits, the event time of the value it holds
(``Profile.trait_updated_at``). A value only replaces another when it comes
from an event at least as recent, so an event that arrives days late cannot
overwrite what a newer event already said, and a merge keeps, trait by trait,
whichever profile heard about it last.
"""

from datetime import UTC, datetime

from .models import Profile

# Every time is stored with microseconds and in UTC, so stored values compare
# the same way as strings and as datetimes.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MISSING = object()


def stamp(moment: datetime) -> str:
    """The form in which trait times are stored."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_stamp(value) -> datetime:
    """A stored trait time; anything unreadable counts as older than any event."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def apply_traits(*, profile: Profile, traits: dict, at: datetime) -> bool:
    """Set ``traits`` on ``profile`` as of event time ``at``; True when anything changed.

    A trait already holding a value from a later event is left alone. Nothing is
    saved: the caller saves the profile once per event.
    """
    changed = False
    for name, value in traits.items():
        held_at = profile.trait_updated_at.get(name)
        if held_at is not None and parse_stamp(held_at) > at:
            continue
        if profile.traits.get(name, _MISSING) != value or held_at != stamp(at):
            profile.traits[name] = value
            profile.trait_updated_at[name] = stamp(at)
            changed = True
    return changed


def take_traits(*, survivor: Profile, merged: Profile) -> dict:
    """Move onto ``survivor`` every trait ``merged`` heard about more recently.

    Returns what a split needs to undo it, per trait taken: the survivor's
    previous value and time (absent when it had none) and the time of the value
    taken, which tells a split whether the trait changed again since.
    """
    taken = {}
    for name, value in merged.traits.items():
        merged_at = parse_stamp(merged.trait_updated_at.get(name))
        held_at = survivor.trait_updated_at.get(name)
        if name in survivor.traits and parse_stamp(held_at) >= merged_at:
            continue
        record = {"updated_at": stamp(merged_at)}
        if name in survivor.traits:
            record["previous"] = survivor.traits[name]
            record["previous_updated_at"] = held_at
        taken[name] = record
        survivor.traits[name] = value
        survivor.trait_updated_at[name] = stamp(merged_at)
    return taken


def give_back_traits(*, survivor: Profile, taken: dict) -> list[str]:
    """Undo ``take_traits`` on ``survivor``, except for traits changed since.

    Returns the names of the traits restored.
    """
    restored = []
    for name, record in taken.items():
        if survivor.trait_updated_at.get(name) != record.get("updated_at"):
            continue  # a later event (or merge) set it again: keep the newer value
        if "previous" in record:
            survivor.traits[name] = record["previous"]
            if record.get("previous_updated_at") is None:
                survivor.trait_updated_at.pop(name, None)
            else:
                survivor.trait_updated_at[name] = record["previous_updated_at"]
        else:
            survivor.traits.pop(name, None)
            survivor.trait_updated_at.pop(name, None)
        restored.append(name)
    return restored
