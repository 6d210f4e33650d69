"""Changing loyalty state by hand or from another system: redeeming,
adjusting, importing accounts, and the nightly pass.

The API and the admin call these, so the same checks apply whichever door a
change comes in. Errors name the field at fault (``points``,
``accounts[3].external_id``).
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from engage.profiles.identifiers import InvalidIdentifier
from engage.profiles.models import Profile
from engage.profiles.selectors import profile_by_identifier
from engage.workspaces.models import Workspace

from . import expiry, ledger, tiers
from .models import LoyaltyAccount, PointsMovement, Programme

# The identity kind an external loyalty system's account id is stored under.
LOYALTY_KIND = "loyalty"
MAX_IMPORT_ROWS = 1000
MAX_POINTS = 10**12
# Accounts whose tier the nightly pass recalculates per transaction.
NIGHTLY_BATCH = 1000


class LoyaltyError(ValueError):
    """A change refused; ``errors`` maps each field at fault to its reasons.
    ``conflict`` is True when the request is well formed but the state
    forbids it (too few points), which the API answers with 409."""

    def __init__(self, errors: dict[str, list[str]], *, conflict: bool = False):
        self.errors = errors
        self.conflict = conflict
        super().__init__("; ".join(f"{k}: {r}" for k, rs in errors.items() for r in rs))


def programme_of(workspace_id: int) -> Programme:
    programme = Programme.objects.filter(workspace_id=workspace_id).first()
    if programme is None:
        raise LoyaltyError(
            {"programme": ["this workspace has no loyalty programme"]}, conflict=True
        )
    return programme


@dataclass(frozen=True)
class Moved:
    movement: PointsMovement
    account: LoyaltyAccount
    replayed: bool


def move_points(
    *, profile: Profile, kind: str, points: int, reason: str = "", reference: str = ""
) -> Moved:
    """Redeem ``points`` (a positive number, taken off) or adjust by ``points``
    (signed). A balance never goes below zero: the conditional UPDATE that
    takes the points refuses it, so two redemptions racing for the last
    points cannot both succeed. A ``reference`` already used for the same
    movement returns it (``replayed``) and moves nothing again; used for
    another (customer, kind or points), it is refused.
    """
    if kind == PointsMovement.REDEEMED:
        if not 0 < points <= MAX_POINTS:
            raise LoyaltyError({"points": [f"must be from 1 to {MAX_POINTS} to redeem"]})
        delta = -points
    elif kind == PointsMovement.ADJUSTED:
        if points == 0 or abs(points) > MAX_POINTS:
            raise LoyaltyError({"points": [f"must be a non-zero number up to ±{MAX_POINTS}"]})
        delta = points
    else:
        raise LoyaltyError({"kind": ["must be redeemed or adjusted"]})
    programme = programme_of(profile.workspace_id)
    now = timezone.now()
    movement = ledger.NewMovement(
        workspace_id=profile.workspace_id,
        programme_id=programme.pk,
        profile_id=profile.pk,
        kind=kind,
        points=delta,
        occurred_at=now,
        reason=reason,
        reference=reference,
    )
    with transaction.atomic():
        ledger.open_accounts({(profile.workspace_id, programme.pk, profile.pk)})
        written = ledger.insert([movement])
        if written:
            taken = LoyaltyAccount.objects.filter(
                programme=programme, profile=profile, points__gte=-delta
            ).update(points=F("points") + delta)
            if not taken:
                balance = LoyaltyAccount.objects.get(programme=programme, profile=profile).points
                raise LoyaltyError(
                    {"points": [f"more than the balance ({balance} points)"]}, conflict=True
                )
            if delta > 0:
                tiers.recalculate(programme, [profile.pk], now=now)
            stored = PointsMovement.objects.get(pk=written[0].id)
        else:
            stored = PointsMovement.objects.get(programme=programme, reference=reference)
            if (stored.profile_id, stored.kind, stored.points) != (profile.pk, kind, delta):
                raise LoyaltyError(
                    {"reference": ["already used for another movement"]}, conflict=True
                )
    account = LoyaltyAccount.objects.select_related("programme").get(
        programme=programme, profile_id=stored.profile_id
    )
    return Moved(stored, account, replayed=not written)


@dataclass(frozen=True)
class Imported:
    accounts: int
    adjusted: int
    tiers_changed: int


def import_accounts(*, workspace: Workspace, rows: list[dict]) -> Imported:
    """Set accounts to what an external loyalty system holds, all or nothing.

    Each row is ``{"external_id" or "identifier": {kind, value}, "tier",
    "points"}``; ``external_id`` finds the customer by their ``loyalty``
    identity, or by an account imported with that id before. The difference
    from the current balance is written as one ``adjusted`` movement (none
    when it matches, so a second import of the same file changes nothing).
    The tier is set as given; a row without one gets the tier its points earn
    under the programme's rules. One look-up per row: a request holds at most
    ``MAX_IMPORT_ROWS``.
    """
    programme = programme_of(workspace.pk)
    if not isinstance(rows, list) or not 0 < len(rows) <= MAX_IMPORT_ROWS:
        raise LoyaltyError({"accounts": [f"must be a list of 1 to {MAX_IMPORT_ROWS} accounts"]})
    tier_names = {tier.name for tier in programme.tiers.all()}
    errors: dict[str, list[str]] = {}
    wanted: dict[int, tuple[str, str, int]] = {}
    for i, row in enumerate(rows):
        path = f"accounts[{i}]"
        profile_id, external_id = _resolve(workspace, programme, row, path, errors)
        tier, points = row.get("tier", ""), row.get("points")
        if not isinstance(tier, str) or (tier and tier_names and tier not in tier_names):
            known = ", ".join(sorted(tier_names))
            errors.setdefault(f"{path}.tier", []).append(f"must be one of: {known}")
        if isinstance(points, bool) or not isinstance(points, int) or not 0 <= points <= MAX_POINTS:
            errors.setdefault(f"{path}.points", []).append(
                f"must be an integer from 0 to {MAX_POINTS}"
            )
        if profile_id is None:
            continue
        if profile_id in wanted:
            errors.setdefault(path, []).append("the same customer as an earlier row")
        wanted[profile_id] = (external_id, tier, points)
    if errors:
        raise LoyaltyError(errors)
    now = timezone.now()
    with transaction.atomic():
        ledger.open_accounts({(workspace.pk, programme.pk, p) for p in wanted})
        accounts = list(
            LoyaltyAccount.objects.select_for_update()
            .filter(programme=programme, profile_id__in=wanted)
            .order_by("pk")
        )
        movements = []
        for account in accounts:
            external_id, _, points = wanted[account.profile_id]
            if points != account.points:
                movements.append(
                    ledger.NewMovement(
                        workspace_id=workspace.pk,
                        programme_id=programme.pk,
                        profile_id=account.profile_id,
                        kind=PointsMovement.ADJUSTED,
                        points=points - account.points,
                        occurred_at=now,
                        reason="imported from the external loyalty system",
                    )
                )
            account.external_id = external_id or account.external_id
        ledger.write(movements)
        LoyaltyAccount.objects.bulk_update(accounts, ["external_id"])
        given = {a: wanted[a.profile_id][1] for a in accounts if wanted[a.profile_id][1]}
        changed = tiers.change_tiers(programme, given, now=now)
        changed += tiers.recalculate(
            programme, [a.profile_id for a in accounts if a not in given], now=now
        )
    return Imported(accounts=len(accounts), adjusted=len(movements), tiers_changed=changed)


def _resolve(workspace, programme, row, path, errors) -> tuple[int | None, str]:
    """The profile a row is about, and its external id; records why not in ``errors``."""
    if not isinstance(row, dict):
        errors.setdefault(path, []).append("must be an object")
        return None, ""
    external_id, identifier = row.get("external_id"), row.get("identifier")
    if (external_id is None) == (identifier is None):
        errors.setdefault(path, []).append("give external_id or identifier, not both")
        return None, ""
    if external_id is not None:
        if not isinstance(external_id, str) or not external_id.strip():
            errors.setdefault(f"{path}.external_id", []).append("must be a non-empty string")
            return None, ""
        held = LoyaltyAccount.objects.filter(programme=programme, external_id=external_id)
        held = held.values_list("profile_id", flat=True).first()
        if held is not None:
            return held, external_id
        kind, value, field = LOYALTY_KIND, external_id, f"{path}.external_id"
    else:
        if not isinstance(identifier, dict) or not all(
            isinstance(identifier.get(key), str) and identifier[key] for key in ("kind", "value")
        ):
            errors.setdefault(f"{path}.identifier", []).append(
                'must be {"kind": "...", "value": "..."}'
            )
            return None, ""
        kind, value, field = identifier["kind"], identifier["value"], f"{path}.identifier"
    try:
        profile = profile_by_identifier(workspace=workspace, kind=kind, value=value)
    except InvalidIdentifier as exc:
        errors.setdefault(field, []).append(exc.reason)
        return None, ""
    if profile is None:
        errors.setdefault(field, []).append("no customer with this identifier in this workspace")
        return None, ""
    return profile.pk, external_id or ""


def nightly(programme: Programme, *, now: datetime.datetime | None = None) -> None:
    """Expire what is due, give notice of what soon is, and recalculate every
    account's tier (windows move with time, not only with new events)."""
    now = now or timezone.now()
    expiry.expire(programme, now=now)
    expiry.notify_expiring(programme, now=now)
    if not programme.tiers.exists():
        return
    accounts = LoyaltyAccount.objects.filter(programme=programme).order_by("profile_id")
    last = 0
    while True:
        ids = list(
            accounts.filter(profile_id__gt=last).values_list("profile_id", flat=True)[
                :NIGHTLY_BATCH
            ]
        )
        if not ids:
            return
        tiers.recalculate(programme, ids, now=now)
        last = ids[-1]
