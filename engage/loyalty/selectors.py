"""Reading loyalty state: one customer's (profile page, API) or a batch's (templates)."""

from django.db.models import QuerySet

from engage.profiles.models import Profile

from .models import LoyaltyAccount, PointsMovement, Programme


def account_of(profile: Profile) -> LoyaltyAccount | None:
    return (
        LoyaltyAccount.objects.select_related("programme")
        .filter(profile=profile, programme__workspace_id=profile.workspace_id)
        .first()
    )


def history(profile: Profile) -> QuerySet[PointsMovement]:
    """The customer's movements; the API pages them newest first by id."""
    return PointsMovement.objects.filter(profile=profile)


def template_context(profiles: list[Profile]) -> dict[int, dict]:
    """``{{ loyalty.tier }}``, ``{{ loyalty.points }}``, ``{{ loyalty.programme }}``
    for a batch of customers, in two queries whatever its size.

    A customer without an account in a workspace that has a programme reads
    no tier and 0 points, so a template need not guard against a blank.
    """
    found: dict[int, dict] = {}
    accounts = LoyaltyAccount.objects.filter(profile_id__in=[p.pk for p in profiles])
    for profile_id, tier, points, name in accounts.values_list(
        "profile_id", "tier", "points", "programme__name"
    ):
        found[profile_id] = {"tier": tier, "points": points, "programme": name}
    missing = [p for p in profiles if p.pk not in found]
    if missing:
        names = dict(
            Programme.objects.filter(
                workspace_id__in={p.workspace_id for p in missing}
            ).values_list("workspace_id", "name")
        )
        for profile in missing:
            if profile.workspace_id in names:
                found[profile.pk] = {
                    "tier": "",
                    "points": 0,
                    "programme": names[profile.workspace_id],
                }
    return found
