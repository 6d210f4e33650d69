from engage.profiles.selectors import canonical_profile, merged_profile_ids
from engage.workspaces.models import Workspace

from .models import InboxEntry


def inbox_profile_ids(*, workspace_id: int, profile_id: int) -> list[int]:
    """The token's customer as they are now: after a merge, the surviving
    profile and every profile merged into it."""
    workspace = Workspace(pk=workspace_id)
    profile = canonical_profile(workspace=workspace, profile_id=profile_id)
    return merged_profile_ids(profile) if profile else []


def visible_entries(*, workspace_id: int, profile_id: int):
    """The customer's inbox, newest first, without dismissed entries."""
    return (
        InboxEntry.objects.filter(
            workspace_id=workspace_id,
            profile_id__in=inbox_profile_ids(workspace_id=workspace_id, profile_id=profile_id),
            dismissed_at__isnull=True,
        )
        .select_related("message")
        .order_by("-created_at", "-id")
    )
