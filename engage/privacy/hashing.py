import hashlib


def identity_hash(workspace_id: int, kind: str, value: str) -> str:
    """Hash of a normalized identifier, scoped to its workspace.

    Suppressions store this instead of the identifier, so an erased
    customer's email or phone is not kept in readable form.
    """
    return hashlib.sha256(f"{workspace_id}\x1f{kind}\x1f{value}".encode()).hexdigest()
