"""Identity resolution: which customer does an event belong to?

An event carries identifiers (userId, anonymousId, email, phone, device id,
external ids of source systems). Each is normalized; invalid and placeholder
values are set aside with a warning. The rest, in priority order, are matched
against the workspace's identities:

- no match: a new profile holding them all;
- matches on one profile: that profile, which gains the new identifiers;
- matches on several: they merge into the one with the lowest id.

Before that, the limits are checked on everything the profiles would hold
together (at most one user_id; other kinds ``workspace.identity_limits`` or
``ENGAGE_DEFAULT_IDENTITY_LIMIT``). Over a limit, the lowest-priority
identifier of the event is set aside and matching starts again, as Segment
Unify does: a user_id U2 arriving with an anonymousId already tied to U1 goes
to U2's profile instead of fusing two known customers.

Concurrency: the caller runs this in a transaction. On PostgreSQL a
transaction-level advisory lock per identifier (taken in sorted order) keeps
two workers from creating or merging on the same identifier at once; the
matched profiles are then locked in id order and re-read, and a profile merged
away meanwhile makes resolution roll back to its savepoint and start again.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from .identifiers import InvalidIdentifier, is_junk, normalize
from .locks import MAX_LOCK_ATTEMPTS, ProfilesMoved, lock_identifiers, lock_profiles
from .merge import merge_locked
from .models import Identity, Profile, ProfileMerge

# Lower ranks win when a limit forces an identifier out; external kinds rank
# between phone and device_id, alphabetically among themselves.
KIND_RANK = {
    Identity.USER_ID: 0,
    Identity.EMAIL: 1,
    Identity.PHONE: 2,
    Identity.DEVICE_ID: 4,
    Identity.ANONYMOUS_ID: 5,
}
EXTERNAL_RANK = 3
# Kinds that only say "the same browser, app or login", as opposed to a
# shared email, phone or external id seen on two profiles.
SESSION_KINDS = (Identity.USER_ID, Identity.ANONYMOUS_ID, Identity.DEVICE_ID)
# Types in context.externalIds that name a built-in kind.
EXTERNAL_TYPE_KINDS = {
    "email": Identity.EMAIL,
    "phone": Identity.PHONE,
    "user_id": Identity.USER_ID,
    "userid": Identity.USER_ID,
    "anonymous_id": Identity.ANONYMOUS_ID,
    "device_id": Identity.DEVICE_ID,
}


@dataclass(frozen=True)
class Identifier:
    kind: str
    value: str

    @property
    def rank(self) -> tuple:
        return (KIND_RANK.get(self.kind, EXTERNAL_RANK), self.kind, self.value)

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


@dataclass
class Extracted:
    """What an event says about who sent it."""

    identifiers: list[Identifier]  # usable, best first
    previous_id: str = ""  # an alias's previousId, normalized; its kind is looked up
    warnings: list[str] = field(default_factory=list)

    def lock_pairs(self) -> list[tuple[str, str]]:
        pairs = [(i.kind, i.value) for i in self.identifiers]
        if self.previous_id:
            pairs += [
                (Identity.USER_ID, self.previous_id),
                (Identity.ANONYMOUS_ID, self.previous_id),
            ]
        return pairs


@dataclass
class Resolution:
    profile: Profile  # canonical and locked
    created: bool = False
    merges: list[ProfileMerge] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class BatchProfiles:
    """Profiles a batch of events holds locked, for ``resolve_identifiers``.

    A caller resolving many events in one transaction (processing) already
    holds every identifier lock of the batch, and keeps the profiles it has
    locked or created here, with their unsaved changes, so that each is locked
    once and saved once per batch. Before a merge, ``flush`` must write every
    pending change (a merge reads and moves rows in the database); the merging
    profiles are then locked again from the database.
    """

    flush: Callable[[], None]
    profiles: dict[int, Profile] = field(default_factory=dict)


def extract_identifiers(*, event, workspace) -> Extracted:
    """The identifiers of ``event`` (an engage.events Event), normalized.

    Person traits come from an identify's ``traits`` and from
    ``context.traits`` (a group call's traits describe the group, not the person).
    """
    found: list[tuple[str, object, str]] = []  # (kind, raw value, where)
    if event.user_id:
        found.append((Identity.USER_ID, event.user_id, "userId"))
    if event.anonymous_id:
        found.append((Identity.ANONYMOUS_ID, event.anonymous_id, "anonymousId"))
    context = event.context if isinstance(event.context, dict) else {}
    trait_sources = [("context.traits", context.get("traits"))]
    if event.type == "identify":
        trait_sources.insert(0, ("traits", event.traits))
    for where, traits in trait_sources:
        if not isinstance(traits, dict):
            continue
        for kind in (Identity.EMAIL, Identity.PHONE):
            if traits.get(kind) not in (None, ""):
                found.append((kind, traits[kind], f"{where}.{kind}"))
    device = context.get("device")
    if isinstance(device, dict) and device.get("id") not in (None, ""):
        found.append((Identity.DEVICE_ID, device["id"], "context.device.id"))
    external = context.get("externalIds")
    if isinstance(external, list):
        for index, item in enumerate(external):
            where = f"context.externalIds[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                found.append(("kind", None, f"{where}.type"))
                continue
            kind = item["type"].strip().lower()
            found.append((EXTERNAL_TYPE_KINDS.get(kind, kind), item.get("id"), f"{where}.id"))

    extracted = Extracted(identifiers=[])
    seen = set()
    for kind, raw, where in found:
        identifier = _usable(kind, raw, where, workspace, extracted.warnings)
        if identifier is not None and identifier not in seen:
            seen.add(identifier)
            extracted.identifiers.append(identifier)
    if event.type == "alias" and event.previous_id:
        previous = _usable(Identity.ANONYMOUS_ID, event.previous_id, "previousId", workspace, [])
        if previous is None:
            extracted.warnings.append(
                f"previousId: {event.previous_id!r} is not usable as an identifier; "
                "nothing was aliased"
            )
        else:
            extracted.previous_id = previous.value
    extracted.identifiers.sort(key=lambda i: i.rank)
    return extracted


def _usable(kind, raw, where, workspace, warnings) -> Identifier | None:
    try:
        value = normalize(kind, raw, phone_region=workspace.default_phone_region)
    except InvalidIdentifier as exc:
        warnings.append(f"{where}: {exc.reason}; not used to identify the customer")
        return None
    if is_junk(value, extra_blocked=workspace.blocked_identifiers):
        warnings.append(
            f"{where}: {value!r} is a placeholder value; never used to identify the customer"
        )
        return None
    return Identifier(kind, value)


def identity_limit(workspace, kind: str) -> int:
    if kind == Identity.USER_ID:
        return 1
    limits = workspace.identity_limits if isinstance(workspace.identity_limits, dict) else {}
    try:
        return max(1, int(limits.get(kind, settings.ENGAGE_DEFAULT_IDENTITY_LIMIT)))
    except (TypeError, ValueError):
        return settings.ENGAGE_DEFAULT_IDENTITY_LIMIT


def resolve_identifiers(
    *,
    workspace,
    extracted: Extracted,
    event_type: str = "",
    message_id: str = "",
    batch: BatchProfiles | None = None,
) -> Resolution | None:
    """Find, create or merge the profile the identifiers belong to.

    Must run inside a transaction (the locks last until it ends). Returns None
    when no identifier is usable (the event cannot be attributed).

    A matched profile merged away by another worker while this one waited
    for its lock (ProfilesMoved) is retried here, each attempt in a
    savepoint so the profiles locked so far are released (see
    locks.lock_profiles); ProfilesMoved escapes only after MAX_LOCK_ATTEMPTS.

    With ``batch``, the caller already holds the identifier locks of
    ``extracted`` (taken with ``lock_identifiers``) and the profiles returned
    may carry changes it has not saved yet (see BatchProfiles); a batch
    handles ProfilesMoved itself, by processing again event by event.
    """
    if batch is not None:
        return _resolve(workspace, extracted, event_type, message_id, batch)
    lock_identifiers(workspace.pk, extracted.lock_pairs())
    for _ in range(MAX_LOCK_ATTEMPTS):
        try:
            with transaction.atomic():
                return _resolve(workspace, extracted, event_type, message_id, None)
        except ProfilesMoved:
            continue
    raise ProfilesMoved


def _resolve(workspace, extracted: Extracted, event_type: str, message_id: str, batch):
    warnings: list[str] = []
    identifiers = list(extracted.identifiers)
    if extracted.previous_id:
        previous = _previous_identifier(workspace, extracted.previous_id, identifiers)
        if previous not in identifiers:
            identifiers.append(previous)
            identifiers.sort(key=lambda i: i.rank)
    if not identifiers:
        return None

    existing = _find(workspace, identifiers)
    held: dict[int, set[Identifier]] = {}  # identities of matched profiles, read lazily
    while identifiers:
        profile_ids = {existing[i] for i in identifiers if i in existing}
        new = [i for i in identifiers if i not in existing]
        if len(profile_ids) <= 1 and not new:
            break  # nothing would change on the profile
        over = _over_limit(workspace, identifiers, profile_ids, held)
        if not over:
            break
        dropped = identifiers.pop()
        warnings.append(
            f"{dropped.kind}: {dropped.value!r} was not used to identify the customer: "
            f"the profile would hold more than {identity_limit(workspace, over)} {over}"
            f"{'' if over == Identity.USER_ID else ' identities'}"
        )
    if not identifiers:
        return None

    profile_ids = sorted({existing[i] for i in identifiers if i in existing})
    if not profile_ids:
        profile = Profile.objects.create(workspace=workspace)
        _attach(workspace, profile, identifiers)
        if batch is not None:
            batch.profiles[profile.pk] = profile
        return Resolution(profile=profile, created=True, warnings=warnings)

    if batch is not None and len(profile_ids) == 1 and profile_ids[0] in batch.profiles:
        survivor = batch.profiles[profile_ids[0]]
        _attach(workspace, survivor, [i for i in identifiers if i not in existing])
        return Resolution(profile=survivor, warnings=warnings)
    if batch is not None and len(profile_ids) > 1:
        batch.flush()
        for pk in profile_ids:
            batch.profiles.pop(pk, None)
    locked = lock_profiles(profile_ids)
    survivor = locked[profile_ids[0]]
    if batch is not None:
        batch.profiles[survivor.pk] = survivor
    resolution = Resolution(profile=survivor, warnings=warnings)
    for other_id in profile_ids[1:]:
        reason, detail = _why(event_type, identifiers, existing, survivor.pk, other_id)
        resolution.merges.append(
            merge_locked(
                survivor=survivor,
                merged=locked[other_id],
                reason=reason,
                detail=detail,
                message_id=message_id,
            )
        )
    _attach(workspace, survivor, [i for i in identifiers if i not in existing])
    return resolution


def _previous_identifier(workspace, value: str, identifiers) -> Identifier:
    """An alias's previousId: the user_id or anonymous_id of that value.

    Known as one kind only, that kind; unknown, a new anonymous_id. Known as
    both (the value came once as a userId, once as an anonymousId): the one
    whose profile already holds another identifier of the alias, else the
    user_id. So resolving the same alias again (resent, replayed) ties the
    same identifiers as the first time, even after the value has been seen
    as the other kind.
    """
    candidates = [Identifier(Identity.USER_ID, value), Identifier(Identity.ANONYMOUS_ID, value)]
    found = _find(workspace, [*candidates, *identifiers])
    known = [c for c in candidates if c in found]
    if len(known) == 2:
        alongside = {found[i] for i in identifiers if i in found}
        known = [c for c in known if found[c] in alongside] or known
    return known[0] if known else candidates[1]


def _find(workspace, identifiers) -> dict[Identifier, int]:
    """{identifier: profile id} for the identifiers the workspace knows.

    Plain SQL: this runs once per processed event, and building the query
    through the ORM cost several times the query itself.
    """
    by_kind: dict[str, list[str]] = {}
    for i in identifiers:
        by_kind.setdefault(i.kind, []).append(i.value)
    clauses, params = [], [workspace.pk]
    for kind, values in by_kind.items():
        clauses.append(f"(kind = %s AND value IN ({', '.join(['%s'] * len(values))}))")
        params += [kind, *values]
    sql = (
        f"SELECT kind, value, profile_id FROM {Identity._meta.db_table} "  # noqa: S608
        f"WHERE workspace_id = %s AND ({' OR '.join(clauses)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {Identifier(kind, value): profile_id for kind, value, profile_id in cursor}


def _over_limit(workspace, identifiers, profile_ids, held) -> str | None:
    """The first kind over its limit if these profiles and identifiers came together."""
    union = set(identifiers)
    largest: dict[str, int] = {}
    for profile_id in profile_ids:
        if profile_id not in held:
            held[profile_id] = {
                Identifier(kind, value)
                for kind, value in Identity.objects.filter(profile_id=profile_id).values_list(
                    "kind", "value"
                )
            }
        union |= held[profile_id]
        for kind in {i.kind for i in held[profile_id]}:
            count = sum(1 for i in held[profile_id] if i.kind == kind)
            largest[kind] = max(largest.get(kind, 0), count)
    counts: dict[str, int] = {}
    for i in union:
        counts[i.kind] = counts.get(i.kind, 0) + 1
    for kind in sorted(counts, key=lambda k: (KIND_RANK.get(k, EXTERNAL_RANK), k)):
        # A profile already over a limit (lowered since) stays usable; it just
        # cannot grow.
        if counts[kind] > max(identity_limit(workspace, kind), largest.get(kind, 0)):
            return kind
    return None


def _attach(workspace, profile: Profile, identifiers) -> None:
    if identifiers:
        Identity.objects.bulk_create(
            [
                Identity(workspace=workspace, profile=profile, kind=i.kind, value=i.value)
                for i in identifiers
            ]
        )


def _why(event_type, identifiers, existing, survivor_id, merged_id) -> tuple[str, str]:
    """The reason and the detail recorded for merging ``merged_id`` into ``survivor_id``."""
    on_merged = next(i for i in identifiers if existing.get(i) == merged_id)
    on_survivor = next(i for i in identifiers if existing.get(i) == survivor_id)
    if event_type == "alias":
        reason = ProfileMerge.ALIAS
    elif on_merged.kind in SESSION_KINDS and on_survivor.kind in SESSION_KINDS:
        reason = ProfileMerge.IDENTIFY
    else:
        reason = ProfileMerge.SHARED_IDENTIFIER
    detail = (
        f"{event_type or 'event'} carried {on_survivor} (profile {survivor_id}) "
        f"and {on_merged} (profile {merged_id})"
    )
    return reason, detail
