"""Privacy requests: export everything held on a customer, or erase it.

Both work on the whole customer: the canonical profile plus every profile
merged into it. Which tables hold customer data is not listed here: every
model with a foreign key to ``Profile`` is found at run time, so a table that
another app adds later (consents, messages, scores...) is exported and erased
without touching this module.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from engage.events.models import Event
from engage.events.quarantine import load_events
from engage.profiles.locks import lock_identifiers
from engage.profiles.models import Identity, Profile, ProfileMerge
from engage.profiles.selectors import merged_profile_ids

from .hashing import identity_hash
from .models import PrivacyRequest, Suppression

EXPORT_CHUNK = 2000
# An event that cannot be shown (see ``engage.events.quarantine``) is exported
# as these columns, without its payload.
QUARANTINED_EVENT_FIELDS = [
    "id",
    "workspace_id",
    "profile_id",
    "message_id",
    "type",
    "name",
    "received_at",
    "quarantined_at",
    "quarantine_reason",
]


def profile_relations() -> Iterator[tuple[type[models.Model], models.ForeignKey]]:
    """Every (model, foreign key) pointing at Profile, except ``merged_into``.

    ``merged_into`` is how merged-in profiles are found, so it is handled
    through ``merged_profile_ids`` instead.
    """
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is Profile and f is not _merged_into():
                yield model, f


def _merged_into() -> models.Field:
    return Profile._meta.get_field("merged_into")


def _row(obj: models.Model) -> dict:
    return {f.attname: f.value_from_object(obj) for f in obj._meta.concrete_fields}


def _quarantined_event_row(event: Event) -> dict:
    """What an export says of an event it cannot show: who, what, when, and why not."""
    return {name: getattr(event, name) for name in QUARANTINED_EVENT_FIELDS}


def _events(queryset: models.QuerySet) -> Iterator[Event]:
    """Events chunk by chunk; one that cannot be loaded or shown comes back quarantined.

    A row stored by an older version (a time out of range, JSON nested too
    deep) must not make the right of access fail for ever.
    """
    ids = list(queryset.values_list("pk", flat=True))
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = Event.objects.filter(pk__in=ids[start : start + EXPORT_CHUNK]).order_by("pk")
        yield from load_events(chunk)


def _related_rows(profile_ids: list[int]) -> dict[str, list[dict]]:
    """Rows of every table referring to the profiles, by model label; each row once."""
    tables: dict[str, dict[object, dict]] = {}
    for model, fk in profile_relations():
        rows = tables.setdefault(model._meta.label_lower, {})
        queryset = model._default_manager.filter(**{f"{fk.name}__in": profile_ids}).order_by("pk")
        if model is Event:
            for event in _events(queryset):
                row = _quarantined_event_row(event) if event.is_quarantined else _row(event)
                rows.setdefault(event.pk, row)
            continue
        for obj in queryset.iterator(chunk_size=EXPORT_CHUNK):
            rows.setdefault(obj.pk, _row(obj))
    return {label: list(rows.values()) for label, rows in tables.items() if rows}


def export_profile(*, profile: Profile, requested_by: str) -> dict:
    """Everything engage holds on the customer, as JSON-ready data, and a record of it.

    ``profile`` should be the canonical profile; profiles merged into it are
    included under ``merged_profiles``. Tables beyond the core ones appear
    under ``related``, keyed by ``app_label.model``.
    """
    ids = merged_profile_ids(profile)
    profiles = {p.pk: _row(p) for p in Profile.objects.filter(pk__in=ids).order_by("pk")}
    tables = _related_rows(ids)
    identities = tables.pop(Identity._meta.label_lower, [])
    events = tables.pop(Event._meta.label_lower, [])
    merges = tables.pop(ProfileMerge._meta.label_lower, [])
    PrivacyRequest.objects.create(
        workspace_id=profile.workspace_id,
        kind=PrivacyRequest.EXPORT,
        profile_id=profile.pk,
        profiles_count=len(profiles),
        identities_count=len(identities),
        events_count=len(events),
        requested_by=requested_by,
    )
    return {
        "exported_at": timezone.now(),
        "workspace": profile.workspace.name,
        "profile": profiles.pop(profile.pk),
        "merged_profiles": list(profiles.values()),
        "identities": identities,
        "events": events,
        "merges": merges,
        "related": tables,
    }


@dataclass
class Erasure:
    """What an erasure removed; ``tables`` counts rows per model label."""

    profile_id: int
    request: PrivacyRequest
    suppressed_identifiers: int
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def profiles(self) -> int:
        return self.tables.get(Profile._meta.label, 0)

    @property
    def identities(self) -> int:
        return self.tables.get(Identity._meta.label, 0)

    @property
    def events(self) -> int:
        return self.tables.get(Event._meta.label, 0)

    @property
    def merges(self) -> int:
        return self.tables.get(ProfileMerge._meta.label, 0)


@transaction.atomic
def erase_profile(*, profile: Profile, requested_by: str) -> Erasure:
    """Delete the customer from every table and suppress its identifiers.

    The customer's identifiers and profiles are locked first, so processing
    cannot attach a new event or identity while they are being deleted; the
    suppressions are written in the same transaction, so from the commit on,
    processing drops any event carrying one of the identifiers
    (``selectors.suppressed``).
    Only hashes are kept; the record says what was removed, never who.
    """
    workspace_id = profile.workspace_id
    # Lock as identity resolution does, identifiers first and then profiles, so
    # an event for this customer being resolved right now waits for us (same
    # order: no deadlock) and then finds the identifiers gone and suppressed.
    ids = merged_profile_ids(profile)
    lock_identifiers(
        workspace_id, Identity.objects.filter(profile_id__in=ids).values_list("kind", "value")
    )
    list(
        Profile.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ids = merged_profile_ids(profile)  # a merge may have landed while we waited

    identities = list(
        Identity.objects.filter(profile_id__in=ids).values_list("pk", "kind", "value")
    )
    Suppression.objects.bulk_create(
        [
            Suppression(
                workspace_id=workspace_id,
                kind=kind,
                identity_hash=identity_hash(workspace_id, kind, value),
            )
            for _, kind, value in identities
        ],
        ignore_conflicts=True,
    )

    counts: Counter[str] = Counter()
    for model, fk in profile_relations():
        _, deleted = model._default_manager.filter(**{f"{fk.name}__in": ids}).delete()
        counts.update(deleted)
    counts.update(_delete_unprocessed_events(workspace_id, identities))
    _, deleted = Profile.objects.filter(pk__in=ids).delete()
    counts.update(deleted)
    counts.update(_forget_admin_history(ids, [pk for pk, _, _ in identities]))

    tables = {label: n for label, n in sorted(counts.items()) if n}
    request = PrivacyRequest.objects.create(
        workspace_id=workspace_id,
        kind=PrivacyRequest.ERASE,
        profile_id=profile.pk,
        profiles_count=tables.get(Profile._meta.label, 0),
        identities_count=tables.get(Identity._meta.label, 0),
        events_count=tables.get(Event._meta.label, 0),
        requested_by=requested_by,
    )
    return Erasure(
        profile_id=profile.pk,
        request=request,
        suppressed_identifiers=len(identities),
        tables=tables,
    )


def _delete_unprocessed_events(workspace_id: int, identities: list[tuple]) -> dict[str, int]:
    """Delete events not yet attributed that carry an erased user or anonymous id.

    Processing would drop them anyway (they are suppressed now); deleting them
    here means a broker outage does not leave them behind. Rows a worker has
    claimed are skipped rather than waited for (no lock-order deadlock): that
    worker sees the suppression or fails on the deleted profile. Events set
    aside before processing (quarantined, attributed to no one) go too.
    """
    user_ids = [v for _, kind, v in identities if kind == Identity.USER_ID]
    anonymous_ids = [v for _, kind, v in identities if kind == Identity.ANONYMOUS_ID]
    if not user_ids and not anonymous_ids:
        return {}
    pending = Event.objects.filter(
        Q(user_id__in=user_ids) | Q(anonymous_id__in=anonymous_ids),
        Q(processed_at__isnull=True) | Q(quarantined_at__isnull=False, profile__isnull=True),
        workspace_id=workspace_id,
    )
    locked = list(pending.select_for_update(skip_locked=True).values_list("pk", flat=True))
    if not locked:
        return {}
    _, deleted = Event.objects.filter(pk__in=locked).delete()
    return deleted


def _forget_admin_history(profile_ids: list[int], identity_ids: list[int]) -> Counter[str]:
    """Drop admin log entries naming the erased rows (an identity's name is its value)."""
    counts: Counter[str] = Counter()
    if not apps.is_installed("django.contrib.admin"):
        return counts
    from django.contrib.admin.models import LogEntry

    for model, pks in ((Profile, profile_ids), (Identity, identity_ids)):
        if pks:
            _, deleted = LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(model),
                object_id__in=[str(pk) for pk in pks],
            ).delete()
            counts.update(deleted)
    return counts
