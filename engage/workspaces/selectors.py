from django.utils.text import slugify

from .keys import hash_key
from .models import ApiKey, Workspace


class WorkspaceNotFound(LookupError):
    """No workspace, or more than one, answers to what an operator typed."""


def active_key(raw: str) -> ApiKey | None:
    """The active key matching ``raw``, with its workspace, or None."""
    if not raw:
        return None
    return (
        ApiKey.objects.select_related("workspace")
        .filter(key_hash=hash_key(raw), revoked_at__isnull=True)
        .first()
    )


def workspace_named(reference: str) -> Workspace:
    """The workspace an operator means by ``reference``: its id, its exact
    name, its name in any case, or its name's slug ("acme-corp" for "Acme
    Corp"), tried in that order.

    Commands take what the docs and the admin show, and people type names as
    they remember them; a reference two workspaces answer to is refused
    rather than guessed (names are unique only case-sensitively).
    """
    reference = reference.strip()
    if reference.isdigit():
        found = Workspace.objects.filter(pk=int(reference)).first()
        if found is not None:
            return found
    exact = Workspace.objects.filter(name=reference).first()
    if exact is not None:
        return exact
    matches = list(Workspace.objects.filter(name__iexact=reference).order_by("pk"))
    if not matches:
        slug = slugify(reference)
        # Workspaces are few (one per tenant): their names fit in memory.
        matches = [
            ws for ws in Workspace.objects.order_by("pk") if slug and slugify(ws.name) == slug
        ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(f"{ws.name!r} (id {ws.pk})" for ws in matches)
        raise WorkspaceNotFound(f"{reference!r} could be any of {names}: give the id")
    raise WorkspaceNotFound(f"no workspace with id, name or slug {reference!r}")
