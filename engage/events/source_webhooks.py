"""Webhooks from a source system an importer reads (Shopify's order
webhooks), stored as the importer would store the same records.

``/sources/<workspace id>/<importer id>/``: the importer must be enabled for
the workspace and define ``verify_webhook(request) -> bool`` and
``webhook_calls(request) -> list`` (calls and ``ImportProblem``s). The
signature is checked on the raw body before anything is read (401 when it
is missing or wrong, and the same 401 when the source is not enabled, so a
caller cannot learn which workspaces use which source); the calls then go
through the same validation and storage as ``/v1``, and their messageIds are
the importer's, so a redelivered webhook and a later import of the same
record store nothing twice.
"""

import logging
from datetime import UTC, datetime

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from engage.plugins.base import Importer, ImportProblem, SettingsError
from engage.plugins.manager import UnknownPlugin, get_plugin_class
from engage.plugins.selectors import enabled_config
from engage.workspaces.models import Workspace

from . import tasks
from .ingestion.storage import store_events
from .ingestion.validation import Batch, validate_message

logger = logging.getLogger(__name__)


def _importer(workspace_id: int, importer_id: str) -> Importer | None:
    """The enabled importer that takes webhooks, or None."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    config = workspace and enabled_config(workspace=workspace, plugin_id=importer_id)
    if not config:
        return None
    try:
        cls = get_plugin_class(importer_id)
    except UnknownPlugin:
        return None
    if not issubclass(cls, Importer) or not hasattr(cls, "webhook_calls"):
        return None
    try:
        return cls(cls.validate_settings(config.settings), workspace=workspace)
    except SettingsError as exc:
        logger.warning("%s is misconfigured in workspace %s: %s", importer_id, workspace_id, exc)
        return None


@csrf_exempt
def receive(request, workspace_id: int, importer_id: str):
    if request.method != "POST":
        return HttpResponse(status=405)
    importer = _importer(workspace_id, importer_id)
    if importer is None or not importer.verify_webhook(request):
        logger.warning("%s webhook for workspace %s failed verification", importer_id, workspace_id)
        return JsonResponse({"error": "signature verification failed"}, status=401)
    try:
        calls = importer.webhook_calls(request)
    except ValueError as exc:
        return JsonResponse({"error": f"body: {exc}"}, status=400)
    batch = Batch(received_at=datetime.now(UTC))
    rows, problems = [], []
    for call in calls:
        if isinstance(call, ImportProblem):
            problems.append(f"{call.where}: {call.field}: {call.reason}")
            continue
        errors: list[dict] = []
        row = validate_message(call, None, batch, errors, None, check_text=True)
        if row is None:
            problems += [f"{e['field']}: {e['reason']}" for e in errors]
        else:
            rows.append(row)
    if problems:
        # Shopify retries a failed delivery for two days: a record that will
        # never pass would be delivered again and again, so it is logged and
        # acknowledged with what could be stored.
        logger.warning("%s webhook in workspace %s: %s", importer_id, workspace_id, problems)
    with transaction.atomic():
        stored = store_events(workspace_id=workspace_id, rows=rows) if rows else 0
        transaction.on_commit(tasks.request_processing)
    return JsonResponse(
        {"received": len(calls), "stored": stored, "problems": problems[:10]},
        json_dumps_params={"ensure_ascii": False},
    )
