"""``update_traits``: set (or, with null, remove) traits on the customer.

``{"type": "update_traits", "traits": {"onboarded": true, "trial": null},
"next": "done"}``

Written as processing writes an identify's traits: the latest update wins
per trait (a value a later event already set is left alone), the profiles
are locked while they change, and ``events_processed`` names the trait keys
so the segments that read them re-check these customers after the commit.

The lock skips a profile another transaction holds (processing, another
engine batch): the batch holds enrollments, and a merge holding the profile
may be waiting for one of them. The enrollment stays here and runs a
moment later (``StepBatch.put_back``).
"""

from engage.bulk import update_rows
from engage.events.signals import events_processed
from engage.messaging.models import MessageDecision
from engage.profiles.models import Profile
from engage.profiles.traits import apply_traits, parse_stamp, stamp

from ..models import Enrollment

TYPE = "update_traits"
MAX_TRAITS = 100
MAX_KEY = 200


def outcomes(node: dict) -> tuple[str, ...]:
    return ("next",)


def validate(checker, node: dict, path: str) -> None:
    if not checker.fields(node, path, {"traits"}, set()):
        return
    traits = node["traits"]
    if not isinstance(traits, dict) or not traits:
        checker.error(f"{path}.traits", "must be a non-empty object of trait names to values")
    elif len(traits) > MAX_TRAITS:
        checker.error(f"{path}.traits", f"may set at most {MAX_TRAITS} traits")
    else:
        for key in traits:
            if not key.strip() or len(key) > MAX_KEY:
                checker.error(f"{path}.traits.{key}", f"a trait name is 1 to {MAX_KEY} characters")


def run(batch) -> None:
    traits = batch.node["traits"]
    setting = {key: value for key, value in traits.items() if value is not None}
    removing = [key for key, value in traits.items() if value is None]
    ids = sorted({e.profile_id for e in batch.enrollments})
    profiles = (
        Profile.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .in_bulk()
    )
    changed = {
        pk for pk, profile in profiles.items() if _update(profile, setting, removing, batch.now)
    }
    update_rows(Profile, [profiles[pk] for pk in sorted(changed)], ["traits", "trait_updated_at"])
    if changed:
        events_processed.send(
            sender=Enrollment,
            workspace=batch.workspace,
            profile_ids=changed,
            event_names=set(),
            trait_keys=set(traits),
        )
    detail = ", ".join(sorted(traits))
    for enrollment in batch.enrollments:
        if enrollment.profile_id not in profiles:
            batch.put_back(enrollment)
            continue
        reason = "changed" if enrollment.profile_id in changed else "unchanged"
        batch.go(enrollment, action=MessageDecision.UPDATE, reason=reason, detail=detail)


def _update(profile: Profile, setting: dict, removing: list[str], now) -> bool:
    changed = apply_traits(profile=profile, traits=setting, at=now)
    for key in removing:
        held_at = profile.trait_updated_at.get(key)
        if held_at is not None and parse_stamp(held_at) > now:
            continue  # set by a later event: that value stands
        if key in profile.traits:
            del profile.traits[key]
            # The removal's time stays, so an older event arriving late cannot bring it back.
            profile.trait_updated_at[key] = stamp(now)
            changed = True
    return changed
