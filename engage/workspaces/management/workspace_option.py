"""``--workspace`` of the commands that run for every workspace, or one:
the same option and the same error wherever an operator meets it."""

from django.core.management.base import CommandError
from django.db.models import QuerySet

from engage.workspaces.models import Workspace
from engage.workspaces.selectors import WorkspaceNotFound, workspace_named


def add_workspace_option(parser) -> None:
    parser.add_argument("--workspace", help="Workspace id, name (any case) or slug; default: all.")


def chosen_workspaces(reference: str | None) -> QuerySet[Workspace]:
    """Every workspace by id, or only the one ``reference`` names; a
    CommandError naming ``--workspace`` when it names none."""
    workspaces = Workspace.objects.order_by("pk")
    if not reference:
        return workspaces
    try:
        return workspaces.filter(pk=workspace_named(reference).pk)
    except WorkspaceNotFound as exc:
        raise CommandError(f"--workspace: {exc}") from None
