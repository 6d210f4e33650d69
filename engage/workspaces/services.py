from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .keys import SHOWN_PREFIX_LENGTH, generate_key, hash_key
from .models import ApiKey, Workspace


@dataclass(frozen=True)
class NewWorkspace:
    workspace: Workspace
    write_key: str
    secret_key: str


def create_api_key(*, workspace: Workspace, kind: str, name: str = "") -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext, which is never stored."""
    if kind not in (ApiKey.WRITE, ApiKey.SECRET):
        raise ValueError(f"kind: must be 'write' or 'secret', not {kind!r}")
    raw = generate_key(kind)
    key = ApiKey.objects.create(
        workspace=workspace,
        kind=kind,
        name=name,
        prefix=raw[:SHOWN_PREFIX_LENGTH],
        key_hash=hash_key(raw),
    )
    return key, raw


@transaction.atomic
def create_workspace(*, name: str) -> NewWorkspace:
    workspace = Workspace.objects.create(name=name)
    keys = create_default_keys(workspace)
    return NewWorkspace(
        workspace=workspace, write_key=keys[ApiKey.WRITE], secret_key=keys[ApiKey.SECRET]
    )


def create_default_keys(workspace: Workspace) -> dict[str, str]:
    """A new workspace's write and secret keys: {kind: raw key}, shown once."""
    return {
        kind: create_api_key(workspace=workspace, kind=kind, name=f"default {kind} key")[1]
        for kind in (ApiKey.WRITE, ApiKey.SECRET)
    }


def revoke_api_key(*, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
