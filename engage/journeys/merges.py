"""Enrollments follow their customers through merges and splits.

A merge makes two customers one, who may then stand in the same journey
twice. The survivor keeps the older active enrollment of each journey (it
has come furthest); the other ends as ``merged``, with an ``exit`` ledger
row naming the one kept. Every other enrollment of the merged customer,
ended or not, moves to the survivor, so re-entry rules see the whole
history. A split gives the restored customer back the enrollments first
written for it (``origin_profile_id``), as the other apps' rows go back.

Both run in the merge's or split's transaction, with a few statements per
batch whatever the number of pairs. The active enrollments are locked
before they change: one an engine batch holds is written after that batch
commits, never overwritten by it.
"""

from collections import defaultdict

from django.utils import timezone

from engage.messaging.models import Message, MessageDecision
from engage.profiles import repoint

from .models import Enrollment


def follow_merges(pairs) -> None:
    target = repoint.survivors(pairs)
    if not target:
        return
    active = list(
        Enrollment.objects.select_for_update(of=("self",))
        .filter(profile_id__in={*target, *target.values()}, ended_at__isnull=True)
        .select_related("version")
        .order_by("pk")
    )
    by_journey: dict[tuple[int, int], list[Enrollment]] = defaultdict(list)
    for enrollment in active:
        owner = target.get(enrollment.profile_id, enrollment.profile_id)
        by_journey[(enrollment.journey_id, owner)].append(enrollment)
    now = timezone.now()
    ended, decisions = [], []
    for (_, owner), enrollments in by_journey.items():
        kept, *others = sorted(enrollments, key=lambda e: (e.entered_at, e.pk))
        for enrollment in others:
            ended.append(enrollment.pk)
            decisions.append(_merged_exit(enrollment, owner, kept))
    if ended:
        Enrollment.objects.filter(pk__in=ended).update(
            ended_at=now,
            end_reason=Enrollment.MERGED,
            waiting=False,
            next_run_at=None,
            waiting_for="",
        )
        MessageDecision.objects.bulk_create(decisions)
    Enrollment.objects.filter(profile_id__in=target).update(profile_id=repoint.moved_to(target))


def follow_splits(pairs) -> None:
    rows, new_profile = repoint.handed_back(pairs)
    Enrollment.objects.filter(rows).update(profile_id=new_profile)


def _merged_exit(enrollment: Enrollment, owner: int, kept: Enrollment) -> MessageDecision:
    """The ``exit`` row of an enrollment ended by a merge, on the survivor's
    ledger (the merged customer's rows have moved there) and handed back
    with them by a split (``origin_profile_id``)."""
    return MessageDecision(
        workspace_id=enrollment.workspace_id,
        profile_id=owner,
        origin_profile_id=enrollment.origin_profile_id or enrollment.profile_id,
        action=MessageDecision.EXIT,
        reason=Enrollment.MERGED,
        detail=f"kept enrollment {kept.pk}",
        source=Message.JOURNEY,
        journey_id=enrollment.journey_id,
        journey_version=enrollment.version.number,
        journey_node_id=enrollment.node_id,
        enrollment_id=enrollment.pk,
    )
