"""What a secret key may see: its workspace, and the profiles in it.

Every read under ``/api`` goes through these, so no view can forget the
tenant: another workspace's profile is a plain 404, never a 403 that would
confirm it exists.
"""

from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from engage.profiles.models import Profile
from engage.profiles.selectors import canonical_profile
from engage.workspaces.models import Workspace


def workspace_of(request: Request) -> Workspace:
    """The workspace of the request's secret key."""
    return request.user.workspace


def requested_by(request: Request) -> str:
    """Who asked, for records such as privacy requests: the key's prefix, never the key."""
    return request.auth.prefix


def profile_or_404(request: Request, profile_id: int, *, field: str = "id") -> Profile:
    """The canonical profile of the key's workspace (a merged id resolves to
    its survivor), or a 404 naming ``field``."""
    profile = canonical_profile(workspace=workspace_of(request), profile_id=profile_id)
    if profile is None:
        raise NotFound(f"{field}: no profile with this id in this workspace.")
    return profile
