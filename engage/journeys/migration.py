"""Moving customers in flight onto a newly published version.

By default a publish leaves every customer on the version they entered. With
a mapping ``{old node id: new node id or None}`` the customers still walking
older versions move to the new one: a customer at an old node named in the
mapping goes to the node it names (``None``: leaves with ``version_removed``);
one at a node the mapping does not name goes to the node of the same id in
the new version, or leaves with ``version_removed`` when there is none.

A moved customer arrives at its new node as if it had just stepped onto it:
due now, not waiting, with its visit counted up, so the engine runs that node
for it (a wait starts over from now, a send sends) and counts the arrival.
Keeping an old wait's deadline would tie the new version's behaviour to a
node it may have changed.

``plan`` counts who would move where without locking anything (the dry run);
``migrate`` does it inside the publish's transaction: it locks the active
enrollments in id order, waiting for any an engine worker holds (as ``stop``
does), so a customer the engine moves meanwhile is moved from where it got
to, then writes one UPDATE per target node, one ledger row per customer and
one audit entry with the counts.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count

from engage.dialect import Dialect
from engage.messaging.models import Message, MessageDecision

from .locks import hold_customers
from .models import Enrollment, Journey, JourneyVersion

ENROLLMENTS = Enrollment._meta.db_table
LEDGER_BATCH = 1000
# Enrollments per UPDATE: within SQLite's and PostgreSQL's parameter limits.
UPDATE_BATCH = 5000
# The ledger's reason for a moved customer, on an ``enter`` row at the new version.
MIGRATED = "migrated"


class InvalidMapping(ValueError):
    """A mapping refused before anything changes; ``errors`` lists
    ``migrate.<old id>: reason``."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass(frozen=True)
class Move:
    """The customers at one node of one old version and where they go
    (``to`` None: they leave with ``version_removed``)."""

    version: int
    node: str
    to: str | None
    customers: int


def check_mapping(journey: Journey, version: JourneyVersion, mapping) -> None:
    """Refuse a mapping that is not an object of old node id to a node id of
    ``version`` (or null), or that names a node no older version has."""
    if not isinstance(mapping, dict):
        raise InvalidMapping(["migrate: must be an object of old node id to new node id or null"])
    old_nodes = set()
    for definition in journey.versions.exclude(pk=version.pk).values_list("definition", flat=True):
        old_nodes.update((definition or {}).get("nodes") or {})
    new_nodes = version.definition.get("nodes") or {}
    errors = []
    for old, new in mapping.items():
        if old not in old_nodes:
            errors.append(f"migrate.{old}: no node {old!r} in an earlier version")
        elif new is not None and (not isinstance(new, str) or new not in new_nodes):
            errors.append(f"migrate.{old}: no node {new!r} in version {version.number}")
    if errors:
        raise InvalidMapping(errors)


def plan(journey: Journey, version: JourneyVersion, mapping: dict) -> list[Move]:
    """Who would move where if ``version`` were published with ``mapping``,
    counted now (nothing is locked: the real move may differ by the steps
    taken meanwhile)."""
    rows = (
        _in_flight(journey, version)
        .values_list("version__number", "node_id")
        .annotate(customers=Count("id"))
        .order_by("version__number", "node_id")
    )
    target = _target(version, mapping)
    return [Move(number, node, target(node), customers) for number, node, customers in rows]


def migrate(
    journey: Journey, version: JourneyVersion, mapping: dict, now: datetime
) -> dict[str, int]:
    """Move the customers walking older versions onto ``version`` (published
    in the caller's transaction); returns ``{"moved": n, "removed": m}``."""
    in_flight = _in_flight(journey, version)
    # Customers first, then enrollments: processing's order (see locks).
    hold_customers(in_flight.values_list("profile_id", flat=True), skip_locked=False)
    locked = list(
        in_flight.select_for_update(of=("self",))
        .order_by("id")
        .values_list("id", "workspace_id", "profile_id", "version__number", "node_id")
    )
    target = _target(version, mapping)
    going: dict[str | None, list[tuple]] = defaultdict(list)
    for row in locked:
        going[target(row[4])].append(row)
    at = Dialect().ts(now)
    for node_id, rows in going.items():
        _move(rows, node_id, version, at)
    decisions = [
        _ledger(journey, version, row, node_id) for node_id, rows in going.items() for row in rows
    ]
    MessageDecision.objects.bulk_create(decisions, batch_size=LEDGER_BATCH)
    removed = len(going.get(None, []))
    return {"moved": len(locked) - removed, "removed": removed}


def _in_flight(journey: Journey, version: JourneyVersion):
    return Enrollment.objects.filter(journey=journey, ended_at__isnull=True).exclude(
        version=version
    )


def _target(version: JourneyVersion, mapping: dict):
    nodes = version.definition.get("nodes") or {}

    def target(node_id: str) -> str | None:
        if node_id in mapping:
            return mapping[node_id]
        return node_id if node_id in nodes else None

    return target


def _move(rows: list[tuple], node_id: str | None, version: JourneyVersion, at) -> None:
    """One UPDATE for the enrollments going to ``node_id`` (None: ending),
    per ``UPDATE_BATCH`` of them."""
    for start in range(0, len(rows), UPDATE_BATCH):
        _move_ids([row[0] for row in rows[start : start + UPDATE_BATCH]], node_id, version, at)


def _move_ids(ids: list[int], node_id: str | None, version: JourneyVersion, at) -> None:
    placeholders = ", ".join(["%s"] * len(ids))
    if node_id is None:
        sql = (
            f"UPDATE {ENROLLMENTS} SET ended_at = %s, end_reason = %s, waiting = %s,"  # noqa: S608 - the table name is the model's, values are params
            f" next_run_at = NULL, waiting_for = '' WHERE id IN ({placeholders})"
        )
        params = [at, Enrollment.VERSION_REMOVED, False, *ids]
    else:
        sql = (
            f"UPDATE {ENROLLMENTS} SET version_id = %s, node_id = %s, visit = visit + 1,"  # noqa: S608 - the table name is the model's, values are params
            " waiting = %s, next_run_at = %s, waiting_for = '', wake_event_id = NULL"
            f" WHERE id IN ({placeholders})"
        )
        params = [version.pk, node_id, False, at, *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _ledger(journey, version, row, node_id: str | None) -> MessageDecision:
    enrollment_id, workspace_id, profile_id, number, old_node = row
    if node_id is None:
        action, reason, detail = MessageDecision.EXIT, Enrollment.VERSION_REMOVED, ""
        at_version, at_node = number, old_node
    else:
        action, reason = MessageDecision.ENTER, MIGRATED
        detail = f"from version {number}, node {old_node}"
        at_version, at_node = version.number, node_id
    return MessageDecision(
        workspace_id=workspace_id,
        profile_id=profile_id,
        origin_profile_id=profile_id,
        channel="",
        action=action,
        reason=reason,
        detail=detail,
        source=Message.JOURNEY,
        journey_id=journey.pk,
        journey_version=at_version,
        journey_node_id=at_node,
        enrollment_id=enrollment_id,
    )
