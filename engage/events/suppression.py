"""Whether an event carries an identifier of an erased customer.

An erasure must stick: processing deletes a later event that carries an
erased customer's identifier instead of resolving it. The suppression list
belongs to the privacy app, which depends on the events app (it exports and
erases events), so the privacy app hands its check over when it starts
(``register``, from its ``ready()``) rather than processing importing it.
Without it processing refuses to run: erased customers must not come back.
"""

from collections.abc import Callable, Iterable

from django.core.exceptions import ImproperlyConfigured

WorkspacesWith = Callable[[Iterable[int]], set[int]]
Suppressed = Callable[[int, Iterable[tuple[str, str]]], bool]

_check: tuple[WorkspacesWith, Suppressed] | None = None


def register(*, workspaces_with_suppressions: WorkspacesWith, suppressed: Suppressed) -> None:
    global _check
    _check = (workspaces_with_suppressions, suppressed)


def workspaces_with_suppressions(workspace_ids: Iterable[int]) -> set[int]:
    """The workspaces among ``workspace_ids`` that have erased anyone (one query a batch)."""
    return _registered()[0](workspace_ids)


def suppressed(workspace_id: int, identities: Iterable[tuple[str, str]]) -> bool:
    """True when any (kind, normalized value) pair belongs to an erased customer."""
    return _registered()[1](workspace_id, identities)


def _registered() -> tuple[WorkspacesWith, Suppressed]:
    if _check is None:
        raise ImproperlyConfigured(
            "no suppression check registered: engage.privacy must be in INSTALLED_APPS"
        )
    return _check
