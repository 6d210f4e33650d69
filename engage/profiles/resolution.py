"""Identity resolution: which customer does each event of a batch belong to?

An event carries identifiers (``identifiers.extract_identifiers``: userId,
anonymousId, email, phone, device id, external ids, normalized, junk set
aside). In priority order, they are matched against the workspace's
identities:

- no match: a new profile holding them all;
- matches on one profile: that profile, which gains the new identifiers;
- matches on several: they merge into the one with the lowest id.

Before that, the limits are checked on everything the profiles would hold
together (at most one user_id; other kinds ``workspace.identity_limits`` or
``ENGAGE_DEFAULT_IDENTITY_LIMIT``). Over a limit, the lowest-priority
identifier of the event is set aside and matching starts again, as Segment
Unify does: a user_id U2 arriving with an anonymousId already tied to U1 goes
to U2's profile instead of fusing two known customers.

A whole batch is resolved in a fixed number of statements, whatever its size
(``resolve_batch``): one look-up of every identifier of the batch, one lock
of the profiles found (and one read of their identities), then the events
one by one, in their order, in memory — each event applied to its profile
(``updates.apply_event``) before the next is resolved, so a merge takes the
traits as they stood — and at the end one insert of the new profiles, one
of the new identities, one update of the profiles, and, when the batch
merged anyone, one update of the identities moved, one insert of the merges
and one ``profiles_merged`` per workspace with all of its pairs. The
outcome is the one event-at-a-time resolution would reach (the reference
resolver in tests/profiles/test_batch_resolution.py checks it).

Concurrency: the caller runs this in a transaction holding the identifier
locks of the batch (``locks.lock_identifiers``). The profiles found are then
locked in id order and re-read, all in one statement when no other
transaction holds any of them, else one by one; one merged away meanwhile by
another worker rolls the look-up back to its savepoint and starts it again.
"""

import functools
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from engage import json_rows
from engage.bulk import insert_rows, int_array, update_rows

from .identifiers import (
    EXTERNAL_RANK,
    KIND_RANK,
    SESSION_KINDS,
    Extracted,
    Identifier,
    identity_limit,
)
from .locks import (
    MAX_LOCK_ATTEMPTS,
    ProfilesBusy,
    ProfilesMoved,
    lock_identifiers,
    lock_profiles,
    try_lock_profiles,
)
from .merge import combine
from .models import Identity, Profile, ProfileMerge
from .repoint import moved_to
from .signals import profiles_merged
from .updates import apply_event

Key = tuple[int, Identifier]  # (workspace id, identifier)
# What resolution reads of the identities of the profiles a batch found.
_IDENTITY_FIELDS = ["id", "workspace_id", "profile_id", "kind", "value"]


@dataclass
class Sighting:
    """What one event says about its sender, as resolution needs it.

    Without a ``timestamp``, nothing is applied to the profile: the caller
    only wants to know who it is (a channel's inbound signal).
    """

    workspace: object  # engage.workspaces Workspace
    extracted: Extracted
    event_type: str = ""
    message_id: str = ""
    timestamp: datetime | None = None
    traits: object = None
    context: object = None


@dataclass(eq=False)
class Node:
    """A profile as a batch sees it: found (locked) or created by the batch."""

    profile: Profile
    order: tuple  # (0, id) for a profile found, (1, n) for the n-th created: lowest survives
    identities: list[Identity]
    merged_into: "Node | None" = None
    changed: bool = False

    def canonical(self) -> "Node":
        node = self
        while node.merged_into is not None:
            node = node.merged_into
        return node


@dataclass
class Resolved:
    """Where one sighting went: ``node`` is None when no identifier was usable."""

    node: Node | None
    warnings: list[str] = field(default_factory=list)

    @property
    def profile_id(self) -> int | None:
        """The profile the event was resolved to (its ``origin_profile_id``)."""
        return None if self.node is None else self.node.profile.pk

    @property
    def canonical(self) -> Profile | None:
        """The profile it belongs to once the whole batch's merges are done."""
        return None if self.node is None else self.node.canonical().profile


@dataclass
class _Merge:
    survivor: Node
    merged: Node
    reason: str
    why: tuple  # (event type, identifier on the survivor, identifier on the merged)
    message_id: str
    identities: list[Identity]  # what the merged profile brought
    taken: dict


@dataclass
class Resolution:
    profile: Profile  # canonical
    warnings: list[str] = field(default_factory=list)


def resolve_identifiers(
    *, workspace, extracted: Extracted, event_type: str = "", message_id: str = ""
) -> Resolution | None:
    """Find, create or merge the profile of one set of identifiers, outside processing.

    Takes the identifier locks itself (they last until the caller's
    transaction ends, if any). Returns None when no identifier is usable.
    """
    with transaction.atomic():
        lock_identifiers(workspace.pk, extracted.lock_pairs())
        sighting = Sighting(workspace, extracted, event_type=event_type, message_id=message_id)
        [resolved] = resolve_batch([sighting])
    if resolved.node is None:
        return None
    return Resolution(profile=resolved.canonical, warnings=resolved.warnings)


def resolve_batch(sightings: list[Sighting]) -> list[Resolved]:
    """Resolve ``sightings`` in their order and write the outcome; one Resolved each.

    Must run inside a transaction that holds the identifier locks of every
    sighting (``Extracted.lock_pairs``). Raises ProfilesMoved when the
    profiles found kept being merged away by others (MAX_LOCK_ATTEMPTS).
    """
    graph = _load(sightings)
    resolved = [graph.resolve(sighting) for sighting in sightings]
    graph.write()
    return resolved


def _load(sightings: list[Sighting]) -> "_Graph":
    keys = {(s.workspace.pk, i) for s in sightings for i in s.extracted.lock_pairs()}
    lock = try_lock_profiles  # one statement, unless another transaction holds one
    for _ in range(MAX_LOCK_ATTEMPTS):
        try:
            # A savepoint per attempt: a failed attempt must release the
            # profiles it locked (see locks.lock_profiles).
            with transaction.atomic():
                found = _find(keys)
                locked = lock(set(found.values()))
                return _Graph(locked, _identities_of(locked))
        except ProfilesBusy:
            lock = lock_profiles
        except ProfilesMoved:
            continue
    raise ProfilesMoved


def _find(keys: set[Key]) -> dict[Key, int]:
    """{(workspace id, identifier): profile id} for the identifiers already known.

    One statement for the whole batch: on PostgreSQL a join with the keys
    as one JSON document (``json_to_recordset``), elsewhere (SQLite, one writer) an OR of
    IN lists per workspace and kind.
    """
    if not keys:
        return {}
    table = Identity._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT i.workspace_id, i.kind, i.value, i.profile_id FROM {table} AS i "  # noqa: S608
            "JOIN json_to_recordset(%s::json) AS k(w bigint, kind text, value text) "
            "ON i.workspace_id = k.w AND i.kind = k.kind AND i.value = k.value"
        )
        # One JSON document: psycopg would dump arrays element by element.
        params = [json.dumps([{"w": w, "kind": kind, "value": value} for w, (kind, value) in keys])]
    else:
        groups: dict[tuple[int, str], list[str]] = {}
        for workspace_id, identifier in keys:
            groups.setdefault((workspace_id, identifier.kind), []).append(identifier.value)
        clauses, params = [], []
        for (workspace_id, kind), values in groups.items():
            marks = ", ".join(["%s"] * len(values))
            clauses.append(f"(workspace_id = %s AND kind = %s AND value IN ({marks}))")
            params += [workspace_id, kind, *values]
        sql = (
            f"SELECT workspace_id, kind, value, profile_id FROM {table} "  # noqa: S608
            f"WHERE {' OR '.join(clauses)}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            (workspace_id, Identifier(kind, value)): profile_id
            for workspace_id, kind, value, profile_id in cursor
        }


def _identities_of(profiles: dict[int, Profile]) -> list[Identity]:
    if not profiles:
        return []
    if connection.vendor == "postgresql":
        # Without the ORM (see engage.json_rows): a batch reads hundreds.
        return json_rows.load(
            Identity,
            _IDENTITY_FIELDS,
            f"SELECT {json_rows.select_list(Identity, _IDENTITY_FIELDS)} "  # noqa: S608
            f"FROM {connection.ops.quote_name(Identity._meta.db_table)} "
            "WHERE profile_id = ANY(%s) ORDER BY id",
            [int_array(profiles)],
        )
    return list(
        Identity.objects.filter(profile_id__in=list(profiles))
        .only(*_IDENTITY_FIELDS)
        .order_by("pk")
    )


class _Graph:
    """The batch's identities and profiles in memory, changed event by event."""

    def __init__(self, profiles: dict[int, Profile], identities: list[Identity]):
        self.nodes = {pk: Node(p, (0, pk), []) for pk, p in profiles.items()}
        self.owner: dict[Key, Node] = {}
        self.moved_from: dict[Identity, int] = {}  # identities found: their profile then
        for identity in identities:
            node = self.nodes[identity.profile_id]
            node.identities.append(identity)
            self.owner[(identity.workspace_id, Identifier(identity.kind, identity.value))] = node
            self.moved_from[identity] = identity.profile_id
        self.created: list[Node] = []
        self.new_identities: list[tuple[Key, Identity]] = []
        self.merges: list[_Merge] = []
        self.workspaces: dict[int, object] = {}
        self._sequence = itertools.count()

    # Resolution, in memory.

    def resolve(self, sighting: Sighting) -> Resolved:
        workspace, extracted = sighting.workspace, sighting.extracted
        ws = workspace.pk
        self.workspaces[ws] = workspace
        warnings: list[str] = []
        identifiers = list(extracted.identifiers)
        if extracted.previous_id:
            previous = self._previous_identifier(ws, extracted.previous_id, identifiers)
            if previous not in identifiers:
                identifiers = sorted([*identifiers, previous], key=lambda i: i.rank)
        owner = self.owner
        while identifiers:
            existing = {i: owner[(ws, i)] for i in identifiers if (ws, i) in owner}
            nodes = set(existing.values())
            if len(nodes) <= 1 and len(existing) == len(identifiers):
                break  # nothing would change on the profile
            over = _over_limit(workspace, identifiers, nodes)
            if not over:
                break
            dropped = identifiers.pop()
            warnings.append(
                f"{dropped.kind}: {dropped.value!r} was not used to identify the customer: "
                f"the profile would hold more than {identity_limit(workspace, over)} {over}"
                f"{'' if over == Identity.USER_ID else ' identities'}"
            )
        if not identifiers:
            return Resolved(None, warnings)

        found = sorted(nodes, key=lambda n: n.order)
        if found:
            survivor = found[0]
            for other in found[1:]:
                self._merge(survivor, other, sighting, identifiers, existing)
        else:
            survivor = Node(_new_profile(workspace), (1, next(self._sequence)), [])
            self.created.append(survivor)
        for identifier in identifiers:
            if identifier not in existing:
                kind, value = identifier
                identity = _unsaved(Identity, workspace_id=ws, kind=kind, value=value)
                survivor.identities.append(identity)
                self.owner[(ws, identifier)] = survivor
                self.new_identities.append(((ws, identifier), identity))
        if sighting.timestamp is not None:
            apply_event(
                profile=survivor.profile,
                event_type=sighting.event_type,
                timestamp=sighting.timestamp,
                traits=sighting.traits,
                context=sighting.context,
            )
        survivor.changed = True
        return Resolved(survivor, warnings)

    def _previous_identifier(self, ws: int, value: str, identifiers) -> Identifier:
        """An alias's previousId: the user_id or anonymous_id of that value.

        Known as one kind only, that kind; unknown, a new anonymous_id. Known
        as both (the value came once as a userId, once as an anonymousId): the
        one whose profile already holds another identifier of the alias, else
        the user_id. So resolving the same alias again (resent, replayed) ties
        the same identifiers as the first time, even after the value has been
        seen as the other kind.
        """
        candidates = [Identifier(Identity.USER_ID, value), Identifier(Identity.ANONYMOUS_ID, value)]
        known = [c for c in candidates if (ws, c) in self.owner]
        if len(known) == 2:
            alongside = {self.owner[(ws, i)] for i in identifiers if (ws, i) in self.owner}
            known = [c for c in known if self.owner[(ws, c)] in alongside] or known
        return known[0] if known else candidates[1]

    def _merge(self, survivor: Node, merged: Node, sighting: Sighting, identifiers, existing):
        on_merged = next(i for i in identifiers if existing.get(i) is merged)
        on_survivor = next(i for i in identifiers if existing.get(i) is survivor)
        if sighting.event_type == "alias":
            reason = ProfileMerge.ALIAS
        elif on_merged.kind in SESSION_KINDS and on_survivor.kind in SESSION_KINDS:
            reason = ProfileMerge.IDENTIFY
        else:
            reason = ProfileMerge.SHARED_IDENTIFIER
        taken = combine(survivor=survivor.profile, merged=merged.profile)
        self.merges.append(
            _Merge(
                survivor=survivor,
                merged=merged,
                reason=reason,
                why=(sighting.event_type or "event", on_survivor, on_merged),
                message_id=sighting.message_id,
                identities=list(merged.identities),
                taken=taken,
            )
        )
        for identity in merged.identities:
            self.owner[(identity.workspace_id, Identifier(identity.kind, identity.value))] = (
                survivor
            )
        survivor.identities += merged.identities
        merged.identities = []
        merged.merged_into = survivor
        survivor.changed = merged.changed = True

    # Writing the outcome, a statement per table.

    def write(self) -> None:
        insert_rows(Profile, [node.profile for node in self.created])
        for key, identity in self.new_identities:
            identity.profile_id = self.owner[key].canonical().profile.pk
        insert_rows(Identity, [identity for _, identity in self.new_identities])
        if self.merges:
            self._write_merges()
        changed = [n for n in self.nodes.values() if n.changed]
        changed += [n for n in self.created if n.merged_into is not None]
        for node in changed:
            if node.merged_into is not None:
                node.profile.merged_into_id = node.canonical().profile.pk
        update_rows(
            Profile, [n.profile for n in changed], [*Profile.EVENT_DRIVEN_FIELDS, "merged_into"]
        )

    def _write_merges(self) -> None:
        moved = []
        for identity, was in self.moved_from.items():
            now_on = self.owner[(identity.workspace_id, Identifier(identity.kind, identity.value))]
            identity.profile_id = now_on.canonical().profile.pk
            if identity.profile_id != was:
                moved.append(identity)
        update_rows(Identity, moved, ["profile"])
        # Keep merged_into one hop deep for profiles merged earlier into one
        # that this batch merged away.
        ends = {
            m.merged.profile.pk: m.merged.canonical().profile.pk
            for m in self.merges
            if m.merged.order[0] == 0
        }
        if ends:
            Profile.objects.filter(merged_into_id__in=list(ends)).update(
                merged_into_id=moved_to(ends, "merged_into_id")
            )
        now = timezone.now()
        records = [
            ProfileMerge(
                workspace_id=m.survivor.profile.workspace_id,
                survivor_id=m.survivor.profile.pk,
                merged_id=m.merged.profile.pk,
                reason=m.reason,
                detail=_detail(m)[:500],
                message_id=m.message_id[:100],
                identity_ids=sorted(i.pk for i in m.identities),
                traits_taken=m.taken,
                merged_at=now,
            )
            for m in self.merges
        ]
        insert_rows(ProfileMerge, records)
        by_workspace: dict[int, list[tuple[int, int, int]]] = {}
        for record in records:
            by_workspace.setdefault(record.workspace_id, []).append(
                (record.survivor_id, record.merged_id, record.pk)
            )
        for workspace_id, pairs in by_workspace.items():
            profiles_merged.send(
                sender=ProfileMerge, workspace=self.workspaces[workspace_id], pairs=pairs
            )


def _new_profile(workspace) -> Profile:
    profile = _unsaved(Profile, workspace_id=workspace.pk)
    profile._state.fields_cache["workspace"] = workspace
    return profile


def _unsaved(model, **values):
    """A new ``model`` instance holding ``values`` and every other field's default.

    What ``model(**values)`` makes, without ``Model.__init__``: 6-8 µs per
    instance, and a batch creates an identity or a profile for most events.
    """
    instance = model.__new__(model)
    instance.__dict__.update(
        {name: default() for name, default in _defaults(model)}, _state=ModelState(), **values
    )
    return instance


@functools.cache
def _defaults(model) -> list:
    return [(field.attname, field.get_default) for field in model._meta.concrete_fields]


def _detail(merge: _Merge) -> str:
    event_type, on_survivor, on_merged = merge.why
    return (
        f"{event_type} carried {on_survivor} (profile {merge.survivor.profile.pk}) "
        f"and {on_merged} (profile {merge.merged.profile.pk})"
    )


def _over_limit(workspace, identifiers, nodes) -> str | None:
    """The first kind over its limit if these profiles and identifiers came together."""
    union = set(identifiers)
    largest: dict[str, int] = {}
    for node in nodes:
        held = {Identifier(i.kind, i.value) for i in node.identities}
        union |= held
        for kind in {i.kind for i in held}:
            count = sum(1 for i in held if i.kind == kind)
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
