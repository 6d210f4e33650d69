"""Processing against a reference resolver, over generated streams of events.

The reference below resolves one event at a time, in the order the events were
stored, in plain Python: the rules of docs/identity.md (match, create, merge
into one customer, per-kind limits that set the lowest-priority identifier
aside, an alias's previousId taken for the kind already known, erased
customers' events dropped) and latest-update-wins traits. Processing resolves
whole batches at once; whatever it does inside a batch, and with one worker
or two side by side, each customer must end as the reference says: the same
identifiers, the same events attributed to them, the same traits and the
same first and last seen times. Customers are compared as sets, never by
profile id (which profile survives a merge depends on creation order).

Two workers keep each customer's events in their order along every
identifier, not across a whole profile: two events with no identifier in
common, each bringing a second crm id to the same profile, may be resolved in
either order, and the limit then keeps whichever came first. So the streams
of the two-worker test have no limit to meet (one user id, no per-kind
limits), where every order ends in the same customers.

Normalization and the junk list are engage's own (``extract_identifiers``):
the reference checks what resolution does with the identifiers, not how a
phone number is written.
"""

import datetime as dt
import itertools
from functools import partial

import pytest
from django.conf import settings as django_settings
from django.db import connection
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from engage.events.models import Event
from engage.events.processing import run
from engage.privacy.hashing import identity_hash
from engage.privacy.models import Suppression
from engage.profiles.identifiers import Identifier, extract_identifiers
from engage.profiles.models import Identity, Profile
from engage.workspaces.services import create_workspace
from tests.identity_helpers import pending_event
from tests.profiles.test_concurrency import race

DIFFERENTIAL_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MAX_EVENTS = 16
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LIMITS = {Identity.ANONYMOUS_ID: 2, Identity.EMAIL: 1, Identity.PHONE: 1, "crm": 1}

# Values shared between customers and kinds, placeholders and invalid values.
USER_IDS = ["u1", "u2", "u3", "null"]
ANONYMOUS_IDS = ["a1", "a2", "a3", "a4", "u1", "undefined"]
EMAILS = ["ada@example.com", "ADA@Example.com", "bob@example.com", "eve@example.com", "email"]
PHONES = ["+442079460958", "020 7946 0958", "+442079460959", "12345"]
DEVICE_IDS = ["d1", "d2", "00000000-0000-0000-0000-000000000000"]
CRM_IDS = ["C-1", "C-2", "-1"]
# Identifiers of customers erased before the stream (normalized).
ERASABLE = [
    (Identity.EMAIL, "eve@example.com"),
    (Identity.ANONYMOUS_ID, "a4"),
    (Identity.USER_ID, "u3"),
    ("crm", "C-2"),
]
PLANS = ["free", "pro", "team"]

_names = itertools.count()


def maybe(values):
    return st.none() | st.sampled_from(values)


@st.composite
def stream_event(draw, user_ids: list[str]) -> dict:
    """The fields of one stored event; its time is drawn with the stream."""
    kind = draw(st.sampled_from(["identify", "identify", "track", "alias"]))
    user_id = draw(st.sampled_from(user_ids) if kind == "alias" else maybe(user_ids))
    fields = {
        "type": kind,
        "user_id": user_id or "",
        "anonymous_id": draw(maybe(ANONYMOUS_IDS) if user_id else st.sampled_from(ANONYMOUS_IDS))
        or "",
    }
    if kind == "alias":
        fields["previous_id"] = draw(st.sampled_from(["a2", "a3", "a4", "undefined"]))
    person = {}
    for name, values in (("email", EMAILS), ("phone", PHONES), ("plan", PLANS)):
        value = draw(maybe(values))
        if value is not None:
            person[name] = value
    if kind == "identify" and draw(st.booleans()):
        fields["traits"] = person
        person = {"plan": draw(st.sampled_from(PLANS))} if draw(st.booleans()) else {}
    context = {"traits": person} if person else {}
    device = draw(maybe(DEVICE_IDS))
    if device:
        context["device"] = {"id": device}
    crm = draw(maybe(CRM_IDS))
    if crm:
        context["externalIds"] = [{"type": "crm", "id": crm}]
    fields["context"] = context
    return fields


@st.composite
def streams(draw, user_ids=USER_IDS) -> tuple[list[dict], list[tuple[str, str]]]:
    """Events in the order they are stored, each at its own time (late ones
    included), and the identifiers erased before them."""
    events = draw(st.lists(stream_event(user_ids), min_size=1, max_size=MAX_EVENTS))
    minutes = draw(st.permutations(range(len(events))))
    for fields, minute in zip(events, minutes, strict=True):
        fields["at"] = T0 + dt.timedelta(minutes=minute)
    erased = draw(st.lists(st.sampled_from(ERASABLE), unique=True, max_size=2))
    return events, erased


def new_workspace(erased, limits):
    ws = create_workspace(name=f"differential-{next(_names)}").workspace
    ws.default_phone_region = "GB"
    ws.identity_limits = limits
    ws.save()
    Suppression.objects.bulk_create(
        Suppression(workspace=ws, kind=kind, identity_hash=identity_hash(ws.pk, kind, value))
        for kind, value in erased
    )
    return ws


# --- the reference ----------------------------------------------------------


def reference(workspace, events: list[Event], erased) -> tuple[set, set]:
    """The customers one-event-at-a-time resolution ends with (see ``customers``),
    and the message ids of the events it drops (erased customers)."""
    new_profiles = itertools.count()
    dropped = set()
    owner: dict = {}  # identifier -> profile number
    members: dict[int, set] = {}  # profile number -> identifiers
    merged_into: dict[int, int] = {}
    attributed: dict[str, int] = {}  # message id -> profile at resolution
    suppressed = set(erased)
    limits = {**workspace.identity_limits, Identity.USER_ID: 1}
    default = django_settings.ENGAGE_DEFAULT_IDENTITY_LIMIT

    def over_limit(identifiers, profiles) -> bool:
        union = set(identifiers).union(*(members[p] for p in profiles))
        kinds = [i.kind for i in union]
        return any(kinds.count(kind) > limits.get(kind, default) for kind in set(kinds))

    def previous(value, identifiers):
        candidates = [(Identity.USER_ID, value), (Identity.ANONYMOUS_ID, value)]
        known = [c for c in candidates if Identifier(*c) in owner]
        if len(known) == 2:
            alongside = {owner[i] for i in identifiers if i in owner}
            known = [c for c in known if owner[Identifier(*c)] in alongside] or known
        return Identifier(*known[0] if known else candidates[1])

    for event in events:
        found = extract_identifiers(event=event, workspace=workspace)
        pairs = {(i.kind, i.value) for i in found.identifiers}
        if found.previous_id:
            pairs |= {
                (Identity.USER_ID, found.previous_id),
                (Identity.ANONYMOUS_ID, found.previous_id),
            }
        if pairs & suppressed:
            dropped.add(event.message_id)
            continue
        identifiers = list(found.identifiers)
        if found.previous_id:
            extra = previous(found.previous_id, identifiers)
            if extra not in identifiers:
                identifiers = sorted([*identifiers, extra], key=lambda i: i.rank)
        while identifiers:
            profiles = {owner[i] for i in identifiers if i in owner}
            if len(profiles) <= 1 and all(i in owner for i in identifiers):
                break
            if not over_limit(identifiers, profiles):
                break
            identifiers.pop()
        if not identifiers:
            attributed[event.message_id] = None
            continue
        profiles = sorted({owner[i] for i in identifiers if i in owner})
        survivor = profiles[0] if profiles else next(new_profiles)
        members.setdefault(survivor, set())
        for other in profiles[1:]:
            for identifier in members.pop(other):
                owner[identifier] = survivor
                members[survivor].add(identifier)
            merged_into[other] = survivor
        for identifier in identifiers:
            owner[identifier] = survivor
            members[survivor].add(identifier)
        attributed[event.message_id] = survivor

    def canonical(profile):
        while profile in merged_into:
            profile = merged_into[profile]
        return profile

    by_customer: dict = {}
    for event in events:
        if event.message_id in attributed and attributed[event.message_id] is not None:
            by_customer.setdefault(canonical(attributed[event.message_id]), []).append(event)
    found = {
        _customer({(i.kind, i.value) for i in members[p]}, by_customer[p])
        for p in members
        if p not in merged_into
    }
    return found, dropped


def _customer(identifiers, events) -> tuple:
    """A customer as compared: identifiers, message ids, traits, first and last seen."""
    traits: dict = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        if event.type == "identify":
            traits.update(event.traits)
        traits.update((event.context or {}).get("traits", {}))
    times = [e.timestamp for e in events]
    return (
        frozenset(identifiers),
        frozenset(e.message_id for e in events),
        tuple(sorted(traits.items())),
        min(times),
        max(times),
    )


# --- what processing did ---------------------------------------------------


def customers(workspace) -> set:
    """The workspace's customers as processing left them, in ``_customer``'s shape."""
    result = set()
    for profile in Profile.objects.filter(workspace=workspace, merged_into__isnull=True):
        events = list(Event.objects.filter(profile=profile))
        found = (
            frozenset(profile.identities.values_list("kind", "value")),
            frozenset(e.message_id for e in events),
            tuple(sorted(profile.traits.items())),
            profile.first_seen_at,
            profile.last_seen_at,
        )
        assert found[3:] == (min(e.timestamp for e in events), max(e.timestamp for e in events))
        result.add(found)
    return result


def store(workspace, stream) -> list[Event]:
    return [pending_event(workspace, **fields) for fields in stream]


def check(workspace, stored: list[Event], erased) -> None:
    expected, dropped = reference(workspace, stored, erased)
    assert customers(workspace) == expected
    events = Event.objects.filter(workspace=workspace)
    assert (
        set(events.values_list("message_id", flat=True)) == {e.message_id for e in stored} - dropped
    )
    assert not events.filter(processed_at__isnull=True).exists()


@DIFFERENTIAL_SETTINGS
@given(stream=streams(), batch_size=st.integers(1, 8))
def test_one_worker_ends_with_the_reference_customers(db, stream, batch_size):
    events, erased = stream
    note(f"events: {events!r}\nerased: {erased!r}\nbatches of {batch_size}")
    ws = new_workspace(erased, LIMITS)
    stored = store(ws, events)

    run(batch_size=batch_size)

    check(ws, stored, erased)


@pytest.mark.usefixtures("transactional_db")
@settings(DIFFERENTIAL_SETTINGS, max_examples=25)
@given(stream=streams(user_ids=["u1", "null"]), batch_size=st.integers(1, 4))
def test_two_workers_end_with_the_reference_customers(stream, batch_size):
    if connection.vendor != "postgresql":
        pytest.skip("workers run side by side on PostgreSQL only")
    events, erased = stream
    note(f"events: {events!r}\nerased: {erased!r}\nbatches of {batch_size}")
    ws = new_workspace(erased, {})
    stored = store(ws, events)

    race(partial(run, batch_size=batch_size), partial(run, batch_size=batch_size))

    check(ws, stored, erased)
