"""Creating, publishing, pausing, resuming and stopping journeys.

Every door (the API, the admin) comes through here, so the same rules hold
whichever an operator uses: a definition is validated whole before it is
saved and again before it is published (a template may have been deleted
meanwhile), a published version never changes, and a refused change leaves
everything running as it was. Each change of status locks the journey's row,
so two operators (or an operator and a publish) never interleave.
"""

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from engage.audit.services import record
from engage.dialect import Dialect
from engage.messaging.models import Message, MessageDecision
from engage.messaging.services import cancel_unsent
from engage.workspaces.models import Workspace

from . import engine, migration
from .models import Enrollment, Journey, JourneyVersion
from .validation import InvalidDefinition, validate_definition

MAX_NAME = 200
LEDGER_BATCH = 1000
ENROLLMENTS = Enrollment._meta.db_table
CANCEL_DETAILS = {
    Enrollment.JOURNEY_STOPPED: "the journey was stopped",
    Enrollment.VERSION_REMOVED: "the customer's node was removed by a new version",
}
# The audit trail's action for each change of status.
MOVES = {Journey.PAUSED: "paused", Journey.LIVE: "resumed", Journey.STOPPED: "stopped"}


class JourneyInvalid(ValueError):
    """A journey or version refused on save; ``errors`` lists ``path: reason``
    (the definition's paths start with ``definition``)."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


class JourneyConflict(Exception):
    """The journey's or version's current state forbids the change; ``path``
    names what is in the way (the API's 409)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def create_journey(
    *, workspace: Workspace, name: str, description: str = "", definition: dict | None = None
) -> Journey:
    """A draft journey; with ``definition``, its first draft version too."""
    errors = _name_errors(workspace, name, None)
    if definition is not None:
        errors += _definition_errors(workspace, definition)
    if errors:
        raise JourneyInvalid(errors)
    with transaction.atomic():
        journey = Journey.objects.create(
            workspace=workspace, name=name.strip(), description=description or ""
        )
        if definition is not None:
            JourneyVersion.objects.create(journey=journey, number=1, definition=definition)
        record(
            workspace_id=workspace.pk,
            action="created",
            obj=journey,
            after={**_audit_state(journey), "definition": definition},
        )
    return journey


def change_journey(*, journey: Journey, name: str | None = None, description: str | None = None):
    """Rename or re-describe a journey (its graph changes through versions)."""
    before = _audit_state(journey)
    if name is not None:
        errors = _name_errors(journey.workspace, name, journey.pk)
        if errors:
            raise JourneyInvalid(errors)
        journey.name = name.strip()
    if description is not None:
        journey.description = description
    with transaction.atomic():
        journey.save(update_fields=["name", "description", "updated_at"])
        record(
            workspace_id=journey.workspace_id,
            action="changed",
            obj=journey,
            before=before,
            after=_audit_state(journey),
        )
    return journey


def delete_journey(*, journey: Journey) -> None:
    """Delete a draft or stopped journey with its versions and enrollments.

    A live or paused one has customers on their way: stop it first, so they
    leave with ``journey_stopped`` in their ledger. The ledger rows and
    messages keep the journey's id.
    """
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status in (Journey.LIVE, Journey.PAUSED):
            raise JourneyConflict("status", f"the journey is {journey.status}: stop it first")
        record(
            workspace_id=journey.workspace_id,
            action="deleted",
            obj=journey,
            before=_audit_state(journey),
        )
        Enrollment.objects.filter(journey=journey).delete()
        Journey.objects.filter(pk=journey.pk).update(live_version=None)
        journey.delete()


def save_draft(
    *, journey: Journey, definition, version: JourneyVersion | None = None
) -> JourneyVersion:
    """Store ``definition`` as a new draft version, or over the draft ``version``.

    Refused whole (JourneyInvalid) when the definition has any error, and
    with JourneyConflict when ``version`` is published.
    """
    errors = _definition_errors(journey.workspace, definition)
    if errors:
        raise JourneyInvalid(errors)
    with transaction.atomic():
        Journey.objects.select_for_update().filter(pk=journey.pk).first()
        if version is not None:
            version = JourneyVersion.objects.select_for_update().get(pk=version.pk)
            _refuse_published(version)
            previous = version.definition
            version.definition = definition
            version.save(update_fields=["definition"])
        else:
            latest = journey.versions.order_by("-number").first()
            previous = latest.definition if latest else None
            version = JourneyVersion.objects.create(
                journey=journey, number=(latest.number if latest else 0) + 1, definition=definition
            )
        record(
            workspace_id=journey.workspace_id,
            action="edited",
            obj=journey,
            before={"definition": previous},
            after={"draft_version": version.number, "definition": definition},
        )
        return version


def delete_draft(*, version: JourneyVersion) -> None:
    """Delete a draft version; a published one stays, as customers' ledgers name it."""
    with transaction.atomic():
        version = JourneyVersion.objects.select_for_update().get(pk=version.pk)
        _refuse_published(version)
        version.delete()


def publish(
    *, version: JourneyVersion, migrate: dict | None = None, now: datetime | None = None
) -> Journey:
    """Make ``version`` immutable and the one new customers enter.

    Customers already inside stay on the version they entered, unless
    ``migrate`` (a mapping of old node id to new node id or None, see
    ``migration``) moves them onto this one in the same transaction. A paused
    journey stays paused (on its new version); any other becomes live. The
    definition is validated again, so a template deleted since the draft was
    saved is refused here and nothing running changes; a bad mapping is
    refused (``InvalidMapping``) before anything changes too.
    """
    now = now or timezone.now()
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=version.journey_id)
        version = JourneyVersion.objects.select_for_update().get(pk=version.pk)
        _refuse_published(version)
        if migrate is not None:
            migration.check_mapping(journey, version, migrate)
        errors = _definition_errors(journey.workspace, version.definition)
        if errors:
            raise JourneyInvalid(errors)
        before = _audit_state(journey)
        version.published_at = now
        version.save(update_fields=["published_at"])
        journey.live_version = version
        if journey.status != Journey.PAUSED:
            journey.status = Journey.LIVE
        journey.save(update_fields=["live_version", "status", "updated_at"])
        record(
            workspace_id=journey.workspace_id,
            action="published",
            obj=journey,
            before=before,
            after=_audit_state(journey),
        )
        if migrate is not None:
            _migrate(journey, version, migrate, now)
    if migrate is not None:
        engine.kick()
    return journey


def publish_plan(*, version: JourneyVersion, migrate: dict | None) -> list[migration.Move]:
    """What ``publish`` would do to the customers in flight, changing nothing:
    with no ``migrate``, nobody moves."""
    journey = version.journey
    _refuse_published(version)
    if migrate is None:
        return []
    migration.check_mapping(journey, version, migrate)
    return migration.plan(journey, version, migrate)


def _migrate(journey: Journey, version: JourneyVersion, mapping: dict, now: datetime) -> None:
    counts = migration.migrate(journey, version, mapping, now)
    _cancel_messages(journey, Enrollment.VERSION_REMOVED, now)
    record(
        workspace_id=journey.workspace_id,
        action="migrated",
        obj=journey,
        after={"version": version.number, "mapping": mapping, **counts},
    )


def pause(*, journey: Journey) -> Journey:
    """Stop taking steps: due enrollments wait, nobody enters, until ``resume``."""
    return _move(journey, (Journey.LIVE,), Journey.PAUSED)


def resume(*, journey: Journey) -> Journey:
    """Live again: the steps that came due while paused run at once."""
    journey = _move(journey, (Journey.PAUSED,), Journey.LIVE)
    engine.kick()
    return journey


def stop(*, journey: Journey, now: datetime | None = None) -> Journey:
    """End the journey for good: every active enrollment ends as
    ``journey_stopped`` with an ``exit`` ledger row, and the messages they
    queued that are not yet handed to the provider are cancelled.

    Set-based: one UPDATE ends the enrollments (waiting for any an engine
    worker holds, and skipping those it ended meanwhile), one UPDATE cancels
    their messages, and their ledger rows are written in bulk.
    """
    now = now or timezone.now()
    with transaction.atomic():
        journey = _move(journey, (Journey.LIVE, Journey.PAUSED), Journey.STOPPED)
        _end_active(journey, Enrollment.JOURNEY_STOPPED, now)
        _cancel_messages(journey, Enrollment.JOURNEY_STOPPED, now)
    return journey


def _move(journey: Journey, allowed: tuple[str, ...], status: str) -> Journey:
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status not in allowed:
            raise JourneyConflict(
                "status", f"the journey is {journey.status}, not {' or '.join(allowed)}"
            )
        before = _audit_state(journey)
        journey.status = status
        journey.save(update_fields=["status", "updated_at"])
        record(
            workspace_id=journey.workspace_id,
            action=MOVES[status],
            obj=journey,
            before=before,
            after=_audit_state(journey),
        )
    return journey


def _audit_state(journey: Journey) -> dict:
    """What the audit trail shows of a journey (its graph is in the versions)."""
    live = journey.live_version
    return {
        "name": journey.name,
        "description": journey.description,
        "status": journey.status,
        "live_version": live.number if live else None,
    }


def _end_active(journey: Journey, reason: str, now: datetime) -> None:
    """End every active enrollment of ``journey`` with ``reason``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ENROLLMENTS} SET ended_at = %s, end_reason = %s, waiting = %s,"  # noqa: S608 - the table name is the model's, values are params
            " next_run_at = NULL, waiting_for = ''"
            " WHERE journey_id = %s AND ended_at IS NULL"
            " RETURNING id, workspace_id, profile_id, version_id, node_id",
            [Dialect().ts(now), reason, False, journey.pk],
        )
        ended = cursor.fetchall()
    numbers = dict(journey.versions.values_list("pk", "number"))
    MessageDecision.objects.bulk_create(
        (
            MessageDecision(
                workspace_id=workspace_id,
                profile_id=profile_id,
                origin_profile_id=profile_id,
                channel="",
                action=MessageDecision.EXIT,
                reason=reason,
                source=Message.JOURNEY,
                journey_id=journey.pk,
                journey_version=numbers[version_id],
                journey_node_id=node_id,
                enrollment_id=enrollment_id,
            )
            for enrollment_id, workspace_id, profile_id, version_id, node_id in ended
        ),
        batch_size=LEDGER_BATCH,
    )


def _cancel_messages(journey: Journey, reason: str, now: datetime) -> None:
    """Cancel what the enrollments just ended with ``reason`` queued and is not
    yet handed to the provider."""
    ended = Enrollment.objects.filter(journey=journey, ended_at=now, end_reason=reason)
    cancel_unsent(
        Message.objects.filter(journey_id=journey.pk, enrollment_id__in=ended.values("id")),
        detail=CANCEL_DETAILS[reason],
        now=now,
    )


def _refuse_published(version: JourneyVersion) -> None:
    if version.published_at is not None:
        raise JourneyConflict("version", f"version {version.number} is published and cannot change")


def _name_errors(workspace: Workspace, name, journey_id: int | None) -> list[str]:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        return [f"name: must be 1 to {MAX_NAME} characters"]
    taken = Journey.objects.filter(workspace=workspace, name=name.strip()).exclude(pk=journey_id)
    if taken.exists():
        return [f"name: a journey named {name.strip()!r} already exists"]
    return []


def _definition_errors(workspace: Workspace, definition) -> list[str]:
    try:
        validate_definition(definition, workspace=workspace)
    except InvalidDefinition as exc:
        return exc.errors
    return []
