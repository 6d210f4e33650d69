"""Properties of identity resolution, over generated streams of real events.

Events go in through ``/v1/batch`` and are resolved by the processing
pipeline, as in production. Customers are compared as the sets of
identifiers they end up holding, never by profile id: which profile survives
a merge depends on which was created first, and so on the order of events.

- Without limit conflicts (each customer has at most one user_id and stays
  within every limit), the customers found are the groups of identifiers
  that events tie together, whatever the order the events arrive in and
  however they are split into requests.
- For any stream, conflicts and junk values included, resolving the same
  events once more (resent with new messageIds) changes no customer.

One exception is kept out of the generated streams: an alias whose
previousId value also comes as a userId. Whether previousId means a user id
or an anonymous id depends on what is known when the alias is resolved
(docs/identity.md), so when a limit set identifiers of the alias aside the
first time and the value came as the other kind afterwards, resolving the
alias again can tie what the first time did not. The cases without a limit,
which this test found, are fixed and kept as explicit examples.
"""

import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from engage.events.models import Event
from engage.events.processing import process_pending
from engage.profiles.models import Identity
from engage.workspaces.services import create_workspace

# Each example gets fresh workspaces inside the test's one transaction; the
# examples are small so that the whole file runs in seconds.
PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MAX_EVENTS = 12
MAX_CUSTOMERS = 4
# Tight limits, which the conflict-free customers reach but never exceed.
LIMITS = {Identity.ANONYMOUS_ID: 3, Identity.EMAIL: 2}
# Valid UK numbers: each is sent in international, E.164 or national (GB) form.
PHONES = [(f"+44 20 7946 0{n:03d}", f"+4420794600{n:02d}") for n in range(10, 20)]

_names = itertools.count()

Identifier = tuple[str, str]  # (kind, normalized value)
Partition = frozenset[frozenset[Identifier]]


@dataclass
class Customer:
    """The hidden truth: one person and every identifier they may send."""

    user_id: str | None
    anonymous_ids: list[str]
    emails: list[str]
    phones: list[int]  # indexes into PHONES
    device_id: str | None
    crm_id: str | None


@dataclass
class Sent:
    """One event as sent, with the identifiers it carries once normalized."""

    message: dict
    identifiers: set[Identifier] = field(default_factory=set)


def new_workspace(limits: dict):
    """A workspace of its own for each example: examples share the test's transaction."""
    created = create_workspace(name=f"properties-{next(_names)}")
    ws = created.workspace
    ws.default_phone_region = "GB"
    ws.identity_limits = limits
    ws.save()
    return created


def deliver(client, write_key: str, messages: list[dict], breaks: list[bool]) -> None:
    """POST the messages in order, a /v1/batch per chunk, each chunk processed before the next.

    ``breaks[i]`` true ends a chunk after message ``i``.
    """
    chunk: list[dict] = []
    for index, message in enumerate(messages):
        chunk.append(message)
        if index < len(breaks) and breaks[index]:
            _post(client, write_key, chunk)
            chunk = []
    if chunk:
        _post(client, write_key, chunk)


def _post(client, write_key: str, chunk: list[dict]) -> None:
    response = client.post(
        "/v1/batch", {"writeKey": write_key, "batch": chunk}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    process_pending()


def partition(workspace) -> Partition:
    """The workspace's customers, each as the set of identifiers its profile holds."""
    customers: dict[int, set[Identifier]] = {}
    rows = Identity.objects.filter(workspace=workspace).values_list("profile_id", "kind", "value")
    for profile_id, kind, value in rows:
        customers.setdefault(profile_id, set()).add((kind, value))
    return frozenset(frozenset(found) for found in customers.values())


def connected(events: list[Sent]) -> Partition:
    """The groups of identifiers the events tie together (union-find)."""
    parent: dict[Identifier, Identifier] = {}

    def root(i: Identifier) -> Identifier:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for event in events:
        ids = sorted(event.identifiers)
        for i in ids:
            parent.setdefault(i, i)
        for other in ids[1:]:
            parent[root(other)] = root(ids[0])
    groups: dict[Identifier, set[Identifier]] = {}
    for i in parent:
        groups.setdefault(root(i), set()).add(i)
    return frozenset(frozenset(g) for g in groups.values())


# --- conflict-free streams ------------------------------------------------


@st.composite
def customers(draw) -> list[Customer]:
    phones = iter(draw(st.permutations(range(len(PHONES)))))
    return [
        Customer(
            user_id=f"user-{n}" if draw(st.booleans()) else None,
            anonymous_ids=[
                f"anon-{n}-{k}" for k in range(draw(st.integers(1, LIMITS[Identity.ANONYMOUS_ID])))
            ],
            emails=[
                f"c{n}.{k}@example.com" for k in range(draw(st.integers(0, LIMITS[Identity.EMAIL])))
            ],
            phones=[next(phones)] if draw(st.booleans()) else [],
            device_id=f"device-{n}" if draw(st.booleans()) else None,
            crm_id=f"C-{n}" if draw(st.booleans()) else None,
        )
        for n in range(draw(st.integers(1, MAX_CUSTOMERS)))
    ]


def spelled(draw, value: str) -> str:
    """``value`` as a client might send it: case (emails) and padding change nothing."""
    if "@" in value and draw(st.booleans()):
        value = value.upper()
    return f" {value} " if draw(st.booleans()) else value


@st.composite
def event_of(draw, customer: Customer) -> Sent:
    """An event carrying some of ``customer``'s identifiers, in any field that holds them."""
    sent = Sent(message={"messageId": f"m-{draw(st.uuids()).hex}"})
    message, context = sent.message, {}
    kind = draw(st.sampled_from(["identify", "track", "page", "alias"]))
    if kind == "alias" and customer.user_id is None:
        kind = "identify"
    message["type"] = kind
    if kind == "track":
        message["event"] = "Viewed"

    anonymous = draw(st.lists(st.sampled_from(customer.anonymous_ids), unique=True, min_size=1))
    with_user = customer.user_id is not None and (kind == "alias" or draw(st.booleans()))
    if with_user:
        message["userId"] = spelled(draw, customer.user_id)
        sent.identifiers.add((Identity.USER_ID, customer.user_id))
    if kind == "alias":
        message["previousId"] = spelled(draw, anonymous.pop())
        sent.identifiers.add((Identity.ANONYMOUS_ID, message["previousId"].strip()))
    if anonymous and (not with_user or draw(st.booleans())):
        message["anonymousId"] = spelled(draw, anonymous.pop())
        sent.identifiers.add((Identity.ANONYMOUS_ID, message["anonymousId"].strip()))
    external = [{"type": "anonymous_id", "id": spelled(draw, a)} for a in anonymous]
    sent.identifiers |= {(Identity.ANONYMOUS_ID, a) for a in anonymous}

    traits = {}
    emails = st.lists(st.sampled_from(customer.emails), unique=True) if customer.emails else None
    for email in draw(emails) if emails is not None else []:
        if "email" not in traits:
            traits["email"] = spelled(draw, email)
        else:
            external.append({"type": "email", "id": spelled(draw, email)})
        sent.identifiers.add((Identity.EMAIL, email))
    if customer.phones and draw(st.booleans()):
        written, e164 = PHONES[customer.phones[0]]
        traits["phone"] = draw(st.sampled_from([written, e164, "0" + written[4:]]))
        sent.identifiers.add((Identity.PHONE, e164))
    if traits:
        if kind == "identify" and draw(st.booleans()):
            message["traits"] = traits
        else:
            context["traits"] = traits
    if customer.device_id and draw(st.booleans()):
        context["device"] = {"id": customer.device_id}
        sent.identifiers.add((Identity.DEVICE_ID, customer.device_id))
    if customer.crm_id and draw(st.booleans()):
        external.append({"type": "CRM", "id": customer.crm_id})
        sent.identifiers.add(("crm", customer.crm_id))
    if external:
        context["externalIds"] = external
    if context:
        message["context"] = context
    return sent


@st.composite
def conflict_free_streams(draw) -> list[Sent]:
    people = draw(customers())
    return draw(
        st.lists(st.sampled_from(people).flatmap(event_of), min_size=1, max_size=MAX_EVENTS)
    )


@PROPERTY_SETTINGS
@given(
    events=conflict_free_streams(),
    data=st.data(),
    breaks=st.lists(st.booleans(), max_size=MAX_EVENTS),
    other_breaks=st.lists(st.booleans(), max_size=MAX_EVENTS),
)
def test_without_conflicts_the_customers_found_do_not_depend_on_the_order_of_events(
    db, client, events, data, breaks, other_breaks
):
    messages = [e.message for e in events]
    shuffled = data.draw(st.permutations(messages), label="the other order")
    # Printed with a failure: pytest's report of the drawn arguments is empty.
    note(f"messages: {messages!r}\nthe other order: {shuffled!r}")
    note(f"chunks end after: {breaks!r}, then {other_breaks!r}")

    first, second = new_workspace(LIMITS), new_workspace(LIMITS)
    deliver(client, first.write_key, messages, breaks)
    deliver(client, second.write_key, shuffled, other_breaks)

    expected = connected(events)
    assert partition(first.workspace) == expected
    assert partition(second.workspace) == expected
    assert not Event.objects.filter(
        workspace__in=[first.workspace, second.workspace], profile__isnull=True
    ).exists()


# --- any stream -----------------------------------------------------------

# Values shared between customers and kinds, placeholders and invalid values.
USER_IDS = ["u1", "u2", "u3", "a1", "null", "0"]
ANONYMOUS_IDS = ["a1", "a2", "a3", "a4", "u1", "undefined", " guest "]
# Never a userId (see the module's docstring).
PREVIOUS_IDS = ["a2", "a3", "a4", "undefined"]
EMAILS = ["ada@example.com", "ADA@example.com", "bob@example.com", "not-an-email", "email"]
RAW_PHONES = ["+442079460958", "020 7946 0958", "+442079460959", "12345"]
DEVICE_IDS = ["d1", "d2", "00000000-0000-0000-0000-000000000000"]
CRM_IDS = ["C-1", "C-2", "-1"]
EXTERNAL_IDS = [("crm", CRM_IDS), ("anonymous_id", ANONYMOUS_IDS), ("email", EMAILS)]
TIGHT_LIMITS = {Identity.ANONYMOUS_ID: 2, Identity.EMAIL: 1, Identity.DEVICE_ID: 1, "crm": 1}


def maybe(values: list[str]):
    return st.none() | st.sampled_from(values)


@st.composite
def any_event(draw) -> dict:
    kind = draw(st.sampled_from(["identify", "track", "page", "alias"]))
    message: dict = {"type": kind, "messageId": f"m-{draw(st.uuids()).hex}"}
    if kind == "track":
        message["event"] = "Viewed"
    user_id = draw(st.sampled_from(USER_IDS) if kind == "alias" else maybe(USER_IDS))
    anonymous_id = draw(maybe(ANONYMOUS_IDS) if user_id else st.sampled_from(ANONYMOUS_IDS))
    if user_id:
        message["userId"] = user_id
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    if kind == "alias":
        message["previousId"] = draw(st.sampled_from(PREVIOUS_IDS))
    context: dict = {}
    traits = {
        name: value
        for name, value in (("email", draw(maybe(EMAILS))), ("phone", draw(maybe(RAW_PHONES))))
        if value is not None
    }
    if traits:
        context["traits"] = traits
    device = draw(maybe(DEVICE_IDS))
    if device:
        context["device"] = {"id": device}
    external = [
        {"type": id_type, "id": draw(st.sampled_from(values))}
        for id_type, values in (
            ("crm", CRM_IDS),
            ("anonymous_id", ANONYMOUS_IDS),
            ("email", EMAILS),
        )
        if draw(st.booleans())
    ]
    if external:
        context["externalIds"] = external
    if context:
        message["context"] = context
    return message


@PROPERTY_SETTINGS
@given(
    messages=st.lists(any_event(), min_size=1, max_size=MAX_EVENTS),
    breaks=st.lists(st.booleans(), max_size=MAX_EVENTS),
)
# Found by this test: an alias whose previousId was taken for an anonymous
# id (unknown then), resolved again once the same value had also come as a
# userId, tied that user to what the alias had brought (here an email)...
@example(
    messages=[
        {
            "type": "alias",
            "messageId": "m-alias",
            "userId": "null",
            "previousId": "u1",
            "context": {"traits": {"email": "ada@example.com"}},
        },
        {"type": "identify", "messageId": "m-login", "userId": "u1"},
    ],
    breaks=[],
)
# ...and the other way round: one taken for the known user_id, resolved
# again once the value had also come as an anonymous id elsewhere, tied the
# user to that anonymous visitor.
@example(
    messages=[
        {"type": "identify", "messageId": "m-login", "userId": "u1"},
        {"type": "alias", "messageId": "m-alias", "userId": "u1", "previousId": "u1"},
        {
            "type": "identify",
            "messageId": "m-visit",
            "anonymousId": "a1",
            "context": {"externalIds": [{"type": "anonymous_id", "id": "u1"}]},
        },
    ],
    breaks=[],
)
def test_resolving_the_same_events_again_changes_no_customer(db, client, messages, breaks):
    note(f"messages: {messages!r}\nchunks end after: {breaks!r}")
    created = new_workspace(TIGHT_LIMITS)
    deliver(client, created.write_key, messages, breaks)
    before = partition(created.workspace)

    again = [{**m, "messageId": f"{m['messageId']}-again"} for m in messages]
    deliver(client, created.write_key, again, breaks)

    assert partition(created.workspace) == before
    events = Event.objects.filter(workspace=created.workspace)
    assert events.count() == 2 * len(messages)
    assert not events.filter(processed_at__isnull=True).exists()
