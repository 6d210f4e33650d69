"""Importers' saved cursors, the store the events app's runner uses
(registered from ``ImportsConfig.ready``)."""

from django.db import transaction

from .models import ImportCursor


def load_cursor(workspace_id: int, importer_id: str) -> dict | None:
    return (
        ImportCursor.objects.filter(workspace_id=workspace_id, importer_id=importer_id)
        .values_list("cursor", flat=True)
        .first()
    )


def save_cursor(workspace_id: int, importer_id: str, cursor: dict) -> None:
    """Saved at once (its own transaction when none is open), so a run that
    fails later still resumes from here."""
    with transaction.atomic():
        ImportCursor.objects.update_or_create(
            workspace_id=workspace_id, importer_id=importer_id, defaults={"cursor": cursor}
        )
