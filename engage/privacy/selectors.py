from collections.abc import Iterable

from .hashing import identity_hash
from .models import Suppression


def suppressed(workspace_id: int, identities: Iterable[tuple[str, str]]) -> bool:
    """True when any of the (kind, normalized value) pairs belongs to an erased customer."""
    hashes = [identity_hash(workspace_id, kind, value) for kind, value in identities]
    if not hashes:
        return False
    return Suppression.objects.filter(workspace_id=workspace_id, identity_hash__in=hashes).exists()


def workspaces_with_suppressions(workspace_ids: Iterable[int]) -> set[int]:
    """The workspaces among ``workspace_ids`` with any suppression."""
    return set(
        Suppression.objects.filter(workspace_id__in=list(workspace_ids))
        .values_list("workspace_id", flat=True)
        .distinct()
    )
