from .keys import hash_key
from .models import ApiKey


def active_key(raw: str) -> ApiKey | None:
    """The active key matching ``raw``, with its workspace, or None."""
    if not raw:
        return None
    return (
        ApiKey.objects.select_related("workspace")
        .filter(key_hash=hash_key(raw), revoked_at__isnull=True)
        .first()
    )
