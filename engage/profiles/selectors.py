"""Reads behind the single customer view (API and admin); its event timeline
is the events app's (``engage.events.selectors.timeline``).

Every function takes the workspace explicitly, so no caller can forget the
tenant: a profile of another workspace is simply not found.
"""

from engage.workspaces.models import Workspace

from .identifiers import normalize
from .models import Identity, Profile, ProfileMerge

# A merge chain longer than this is a bug elsewhere; stop instead of looping.
MAX_MERGE_DEPTH = 50


def canonical_profile(*, workspace: Workspace, profile_id: int) -> Profile | None:
    """The profile ``profile_id`` now lives in, or None.

    A merged profile keeps its row and points at its survivor; callers holding
    an old id (a CRM that stored it before the merge) still get the customer.
    """
    profile = Profile.objects.filter(workspace=workspace, pk=profile_id).first()
    for _ in range(MAX_MERGE_DEPTH):
        if profile is None or profile.merged_into_id is None:
            return profile
        profile = Profile.objects.filter(workspace=workspace, pk=profile.merged_into_id).first()
    return profile


def profile_by_identifier(*, workspace: Workspace, kind: str, value) -> Profile | None:
    """The canonical profile holding the identifier, normalized as resolution does.

    Raises ``InvalidIdentifier`` for a value that could never have been stored
    (a malformed email or phone), so the caller can say why instead of 404.
    """
    normalized = normalize(kind, value, phone_region=workspace.default_phone_region)
    identity = (
        Identity.objects.filter(workspace=workspace, kind=kind, value=normalized)
        .only("profile_id")
        .first()
    )
    if identity is None:
        return None
    return canonical_profile(workspace=workspace, profile_id=identity.profile_id)


def merged_profile_ids(profile: Profile) -> list[int]:
    """Ids of ``profile`` and of every profile merged into it, directly or not."""
    ids = [profile.pk]
    frontier = [profile.pk]
    for _ in range(MAX_MERGE_DEPTH):
        frontier = list(
            Profile.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)
        )
        if not frontier:
            break
        ids.extend(frontier)
    return ids


def customer_view(profile: Profile) -> Profile:
    """``profile`` with what the single customer view shows attached.

    Sets ``identity_list`` (sorted), ``merged_ids`` (profiles merged into it)
    and ``merge_history``; three queries whatever the profile's size.
    """
    ids = merged_profile_ids(profile)
    profile.merged_ids = ids[1:]
    profile.identity_list = list(profile.identities.order_by("kind", "value"))
    profile.merge_history = list(
        ProfileMerge.objects.filter(survivor_id__in=ids).order_by("-merged_at", "-id")
    )
    return profile
