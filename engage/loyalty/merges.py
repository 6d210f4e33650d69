"""Loyalty follows customers through merges and splits, in their transaction.

A merge moves the merged profiles' movements to the survivor, adds their
balances to the survivor's account (opened if it had none; it keeps its own
external id, or takes one it lacked) and deletes theirs, then recalculates
the survivor's tier from the history it now holds. A split gives each
restored profile back the movements first written for it (their
``origin_profile_id``: the earnings of the events it brought, its own
redemptions) and takes their points off the holder's balance: points the
holder spent since may leave it below zero, which is what it owes.

Statements per batch are the same for one pair as for a thousand; a batch
with no loyalty rows costs one probe (a merge) or one query (a split).
"""

from collections import defaultdict

from django.utils import timezone

from engage.profiles import repoint

from . import ledger, tiers
from .models import LoyaltyAccount, PointsMovement, Programme


def follow_merges(pairs) -> None:
    target = repoint.survivors(pairs)
    held = repoint.holding([LoyaltyAccount, PointsMovement], target)
    if not held:
        return
    everyone = sorted({*target, *target.values()})
    locked = list(
        LoyaltyAccount.objects.select_for_update().filter(profile_id__in=everyone).order_by("pk")
    )
    if PointsMovement in held:
        repoint.move_rows(PointsMovement, target)
    merged = [account for account in locked if account.profile_id in target]
    if not merged:
        return
    ledger.open_accounts({(a.workspace_id, a.programme_id, target[a.profile_id]) for a in merged})
    deltas: dict[tuple[int, int], int] = defaultdict(int)
    external: dict[tuple[int, int], str] = {}
    for account in merged:
        key = (account.programme_id, target[account.profile_id])
        deltas[key] += account.points
        if account.external_id:
            external.setdefault(key, account.external_id)
    ledger.add_to_balances(deltas)
    LoyaltyAccount.objects.filter(pk__in=[a.pk for a in merged]).delete()
    survivors = LoyaltyAccount.objects.filter(
        profile_id__in=set(target.values()), programme_id__in={a.programme_id for a in merged}
    )
    lacking = [
        a for a in survivors if not a.external_id and (a.programme_id, a.profile_id) in external
    ]
    for account in lacking:
        account.external_id = external[(account.programme_id, account.profile_id)]
    LoyaltyAccount.objects.bulk_update(lacking, ["external_id"])
    _recalculate({(a.programme_id, target[a.profile_id]) for a in merged})


def follow_splits(pairs) -> None:
    rows, new_profile = repoint.handed_back(pairs)
    moving = list(
        PointsMovement.objects.filter(rows)
        .annotate(restored=new_profile)
        .values_list("programme_id", "profile_id", "restored", "points")
    )
    if not moving:
        return
    holders = sorted({holder for _, holder, _, _ in moving})
    locked = list(
        LoyaltyAccount.objects.select_for_update()
        .filter(profile_id__in=holders)
        .order_by("pk")
        .values_list("programme_id", "workspace_id")
    )
    workspace_of = dict(locked)
    PointsMovement.objects.filter(rows).update(profile_id=new_profile)
    ledger.open_accounts(
        {(workspace_of[programme], programme, restored) for programme, _, restored, _ in moving}
    )
    deltas: dict[tuple[int, int], int] = defaultdict(int)
    for programme, holder, restored, points in moving:
        deltas[(programme, holder)] -= points
        deltas[(programme, restored)] += points
    ledger.add_to_balances(deltas)
    _recalculate(set(deltas))


def _recalculate(keys: set[tuple[int, int]]) -> None:
    by_programme: dict[int, list[int]] = defaultdict(list)
    for programme_id, profile_id in keys:
        by_programme[programme_id].append(profile_id)
    now = timezone.now()
    for programme in Programme.objects.filter(pk__in=by_programme).prefetch_related("tiers"):
        tiers.recalculate(programme, by_programme[programme.pk], now=now)
