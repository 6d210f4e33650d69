"""The one endpoint every channel's provider webhooks arrive at.

``/hooks/<workspace id>/<channel id>/``: the channel must be enabled for the
workspace, checks the provider's signature (403 when it fails, nothing read),
parses the body into signals, and each signal is applied once.
"""

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from engage.plugins.selectors import enabled_channel
from engage.workspaces.models import Workspace

from .delivery_status import apply_signal

logger = logging.getLogger(__name__)


@csrf_exempt
def provider_webhook(request, workspace_id: int, channel_id: str):
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    channel = enabled_channel(workspace=workspace, channel_id=channel_id) if workspace else None
    if channel is None:
        return JsonResponse({"error": "no such channel enabled here"}, status=404)
    if request.method == "GET":
        answer = channel.webhook_challenge(request)
        return answer if answer is not None else HttpResponse(status=405)
    if request.method != "POST":
        return HttpResponse(status=405)
    if not channel.verify_webhook(request):
        logger.warning(
            "webhook for %s in workspace %s failed verification", channel_id, workspace_id
        )
        return JsonResponse({"error": "signature verification failed"}, status=403)
    try:
        signals = channel.parse_webhook(request)
    except ValueError as exc:
        return JsonResponse({"error": f"body: {exc}"}, status=400)
    for signal in signals:
        apply_signal(workspace=workspace, channel=type(channel), signal=signal)
    answer = channel.webhook_response(signals)
    return answer if answer is not None else JsonResponse({"received": len(signals)})
